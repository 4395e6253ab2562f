# mypy: ignore-errors
# (Runs in its own virtualenv, .venv/baseline: its libraries are not in the package's.)
"""The typical-stack reference: v1's create endpoint as a FastAPI application would commonly
write it, with pydantic v2 for the body and the SQLAlchemy 2 async ORM on aiosqlite for the
database, on the same uvicorn stack (httptools, uvloop) as ours and the raw ceiling.

It is not part of the package: the benchmark (bench/README.md) runs it next to ours, on the
same SQLite file our server migrated and the benchmark seeded, to put a number on what the
usual stack costs. It makes the same checks against the same data (the company and its
active API key, the path, the owner group, the instructors by address), writes the same rows
(the session and its instructors) in one transaction, and answers `{"_id": ...}`; like many
FastAPI applications, it validates the body before it authenticates the caller, and its
refusals are FastAPI's own (422, 401, 404), not v1's codes.

    .venv/baseline/bin/python bench/baseline/app.py --host 127.0.0.1 --port 8002

with PATHSESSIONS_DATABASE_URL=sqlite:///path/to/file.db (bench/baseline/setup.sh makes the
virtualenv).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import time
from datetime import datetime
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator
from sqlalchemy import BigInteger, ForeignKey, Integer, String, event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

OBJECT_ID = r"^[0-9a-fA-F]{24}$"
EMAIL = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"


class Base(DeclarativeBase):
    pass


class Company(Base):
    __tablename__ = "companies"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str]
    owner_user_id: Mapped[str | None]


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    key_hash: Mapped[str]
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)


class Path(Base):
    __tablename__ = "paths"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))


class Group(Base):
    __tablename__ = "company_groups"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    mail_key: Mapped[str]
    status: Mapped[str]


class PathSession(Base):
    __tablename__ = "path_sessions"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    path_id: Mapped[str] = mapped_column(ForeignKey("paths.id"))
    name: Mapped[str]
    start_date: Mapped[int] = mapped_column(BigInteger)
    end_date: Mapped[int | None] = mapped_column(BigInteger)
    owner_group_id: Mapped[str] = mapped_column(ForeignKey("company_groups.id"))
    additional_information: Mapped[str | None]
    created_at: Mapped[int] = mapped_column(BigInteger)
    modified_at: Mapped[int] = mapped_column(BigInteger)
    is_audience_builder: Mapped[bool] = mapped_column(default=False)
    translations: Mapped[str] = mapped_column(default="[]")


class SessionInstructor(Base):
    __tablename__ = "session_instructors"
    session_id: Mapped[str] = mapped_column(ForeignKey("path_sessions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))


class NewSession(BaseModel):
    sessionName: str = Field(min_length=1, max_length=1000)
    startDate: AwareDatetime
    endDate: AwareDatetime | None = None
    sessionOwnerGroup: str = Field(pattern=OBJECT_ID)
    instructorsMails: list[Annotated[str, Field(pattern=EMAIL, max_length=254)]] = Field(
        default_factory=list, max_length=100
    )
    sessionAdditionalInformation: str | None = Field(default=None, max_length=10_000)

    @field_validator("sessionName")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip() or "\x00" in value:
            raise ValueError("empty session name")
        return value

    @model_validator(mode="after")
    def end_after_start(self) -> NewSession:
        if self.endDate is not None and self.endDate < self.startDate:
            raise ValueError("endDate before startDate")
        return self


def millis(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def object_id() -> str:
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


engine = create_async_engine(
    os.environ["PATHSESSIONS_DATABASE_URL"].replace("sqlite:", "sqlite+aiosqlite:", 1)
)


@event.listens_for(engine.sync_engine, "connect")
def _pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
    # As our server sets them (storage/sqlite.py): the file is already in WAL mode.
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.close()


Sessions = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


async def database() -> AsyncSession:
    async with Sessions() as session:
        yield session


async def company(
    x_company_id: Annotated[str, Header()],
    x_apikey: Annotated[str, Header()],
    db: Annotated[AsyncSession, Depends(database)],
) -> Company:
    found = await db.scalar(select(Company).where(Company.id == x_company_id.lower()))
    keys = await db.scalars(
        select(ApiKey).where(ApiKey.company_id == x_company_id.lower(), ApiKey.revoked_at.is_(None))
    )
    presented = hashlib.sha256(x_apikey.encode()).hexdigest()
    if found is None or not any(hmac.compare_digest(presented, k.key_hash) for k in keys):
        raise HTTPException(401, "unauthenticated")
    return found


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/v1/paths/{path_id}/sessions")
@app.post("/api/v1/paths/{path_id}/sessions/")
async def create_session(
    path_id: str,
    body: NewSession,
    owner: Annotated[Company, Depends(company)],
    db: Annotated[AsyncSession, Depends(database)],
) -> dict[str, str]:
    path = await db.scalar(
        select(Path).where(Path.id == path_id.lower(), Path.company_id == owner.id)
    )
    if path is None:
        raise HTTPException(404, "path_not_found")
    group_id = body.sessionOwnerGroup.lower()
    group = await db.scalar(select(Group).where(Group.id == group_id, Group.company_id == owner.id))
    if group is None:
        raise HTTPException(404, "owner_group_not_found")
    mails = list(dict.fromkeys(m.strip().lower() for m in body.instructorsMails))
    if mails:
        users = await db.scalars(
            select(User).where(
                User.company_id == owner.id, User.status != "deleted", User.mail_key.in_(mails)
            )
        )
        by_mail = {u.mail_key: u.id for u in users}
        if len(by_mail) != len(mails):
            raise HTTPException(404, "instructors_not_found")
        instructors = [by_mail[m] for m in mails]
    else:
        instructors = [owner.owner_user_id]
    now = int(time.time() * 1000)
    session = PathSession(
        id=object_id(),
        company_id=owner.id,
        path_id=path.id,
        name=body.sessionName,
        start_date=millis(body.startDate),
        end_date=None if body.endDate is None else millis(body.endDate),
        owner_group_id=group_id,
        additional_information=body.sessionAdditionalInformation,
        created_at=now,
        modified_at=now,
    )
    db.add(session)
    await db.flush()  # the session's row before its instructors' (foreign keys)
    db.add_all(
        SessionInstructor(session_id=session.id, position=i, user_id=user_id)
        for i, user_id in enumerate(instructors)
    )
    await db.commit()
    return {"_id": session.id}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "app:app",
        app_dir=os.path.dirname(os.path.abspath(__file__)),
        host=args.host,
        port=args.port,
        workers=args.workers,
        http="httptools",
        loop="uvloop",
        # uvicorn's defaults, as a typical deployment keeps them: its access log on.
    )


if __name__ == "__main__":
    main()
