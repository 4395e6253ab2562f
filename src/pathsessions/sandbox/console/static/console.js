// The live journal: every two seconds, ask for the entries newer than the newest shown (with
// the page's filters) and put them on top. Nothing else on the console needs a script.
"use strict";
(function () {
  const list = document.getElementById("journal-entries");
  const live = document.getElementById("live");
  if (!list || !live) return;
  const empty = document.getElementById("journal-empty");
  const state = document.getElementById("live-state");
  const newest = () => {
    const first = list.querySelector("[data-id]");
    return first ? first.dataset.id : "0";
  };
  async function poll() {
    if (!live.checked || document.hidden) return;
    const url = list.dataset.rowsUrl + (list.dataset.rowsUrl.includes("?") ? "&" : "?") +
      "since=" + encodeURIComponent(newest());
    try {
      const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (!answer.ok) { state.textContent = "Live update failed (" + answer.status + ")."; return; }
      const rows = (await answer.text()).trim();
      state.textContent = "";
      if (rows) {
        list.insertAdjacentHTML("afterbegin", rows);
        if (empty) empty.hidden = true;
      }
    } catch (e) {
      state.textContent = "Live update failed: the server cannot be reached.";
    }
  }
  setInterval(poll, 2000);
})();
