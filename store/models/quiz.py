"""Quizzes and exams: the question bank (shared and per branch), attempts with their
questions (one row per question sent), and exams scheduled by the secretary."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.quiz_bank import QuestionKind
from store.models.base import Base, BigIntPK, str_enum


class QuizQuestion(Base):
    """One question of a bank: ``branch_id`` NULL is the shared bank (the starter bank
    shipped in ``domain/data/question_bank.yaml`` and shared imports)."""

    __tablename__ = "quiz_questions"
    __table_args__ = (
        UniqueConstraint("branch_id", "text_key"),
        Index(
            "uq_quiz_questions_shared_text",
            "text_key",
            unique=True,
            sqlite_where=text("branch_id IS NULL"),
            postgresql_where=text("branch_id IS NULL"),
        ),
        Index("ix_quiz_questions_bank", "branch_id", "active"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    ext_id: Mapped[str | None] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(16), default="import")  # starter | import
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind, 16))
    text: Mapped[str] = mapped_column(String(300))
    text_key: Mapped[str] = mapped_column(String(64))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[list[int]] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(200))
    ref: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class QuizExam(Base):
    """An exam (培训考试 / 知识竞赛) the secretary scheduled for part of the branch."""

    __tablename__ = "quiz_exams"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    question_count: Mapped[int] = mapped_column(Integer)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)  # inclusive, branch's local dates
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]  # exclusive (midnight after closes_on, local)
    pass_mark: Mapped[int] = mapped_column(Integer, default=80)
    audience: Mapped[str] = mapped_column(String(16))  # all | members | probationary | activists
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime]
    results_sent_at: Mapped[datetime | None]


class QuizAttempt(Base):
    """One practice round or one sitting of an exam by one person."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint("exam_id", "person_id"),  # one sitting per exam and person
        Index("ix_quiz_attempts_person_started", "person_id", "started_at"),
        Index("ix_quiz_attempts_branch_started", "branch_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_exams.id"))
    mode: Mapped[str] = mapped_column(String(8), default="buttons")  # buttons | poll
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="open")
    # open | finished | expired (time ran out) | abandoned (a new practice was started)
    question_count: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int | None] = mapped_column(Integer)  # percent, rounded half up
    passed: Mapped[bool | None] = mapped_column(Boolean)
    started_at: Mapped[datetime]
    deadline: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class QuizItem(Base):
    """A question as sent within an attempt, and how it was answered."""

    __tablename__ = "quiz_items"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1-based
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_questions.id"), index=True)
    selected: Mapped[list[int]] = mapped_column(JSON, default=list)  # multiple-choice toggles
    answer: Mapped[list[int] | None] = mapped_column(JSON)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    answered_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    poll_id: Mapped[str | None] = mapped_column(String(64), unique=True)
