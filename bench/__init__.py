"""The benchmark (bench/README.md): our server against the raw ASGI ceiling, under wrk.

cli.py        the command line, and the run: seed, start the servers, each scenario
seed.py       the data set, written straight to a fresh SQLite database
scenarios/    what each scenario sends (its wrk Lua script) and checks (its probe)
client.py     single requests outside the timed runs
load.py       wrk: finding (installing) it, running it, reading its report
servers.py    our server and the raw app: start, watch, stop, memory and CPU time
report.py     the figures: medians over rounds, the table, the JSON document
"""
