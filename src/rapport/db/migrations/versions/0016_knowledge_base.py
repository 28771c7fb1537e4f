"""knowledge base: articles, versions, search documents and vocabulary, synonyms, search log, feedback

Also the stores' own search structures, which SQLAlchemy cannot declare and autogenerate must not
compare (their names start with `native_`, see rapport.db.metadata.declared):

- SQLite: `native_kb_fts`, an FTS5 table over kb_documents (porter stemming, prefix indexes) kept
  by triggers; `native_kb_terms_trigram`, an FTS5 trigram table over the vocabulary.
- PostgreSQL: pg_trgm; `native_kb_search`, each published article's weighted tsvector (title A,
  known questions B, body C, in its language's configuration) kept by a trigger, with a GIN index;
  a trigram GIN index over the vocabulary.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)

SQLITE_UP = [
    "CREATE VIRTUAL TABLE native_kb_fts USING fts5(title, questions, body, content='kb_documents', "
    "content_rowid='article_id', tokenize='porter unicode61 remove_diacritics 2', prefix='2 3 4')",
    "CREATE TRIGGER native_kb_documents_ai AFTER INSERT ON kb_documents BEGIN "
    "INSERT INTO native_kb_fts (rowid, title, questions, body) "
    "VALUES (new.article_id, new.title, new.questions, new.body); END",
    "CREATE TRIGGER native_kb_documents_ad AFTER DELETE ON kb_documents BEGIN "
    "INSERT INTO native_kb_fts (native_kb_fts, rowid, title, questions, body) "
    "VALUES ('delete', old.article_id, old.title, old.questions, old.body); END",
    "CREATE TRIGGER native_kb_documents_au AFTER UPDATE ON kb_documents BEGIN "
    "INSERT INTO native_kb_fts (native_kb_fts, rowid, title, questions, body) "
    "VALUES ('delete', old.article_id, old.title, old.questions, old.body); "
    "INSERT INTO native_kb_fts (rowid, title, questions, body) "
    "VALUES (new.article_id, new.title, new.questions, new.body); END",
    "CREATE VIRTUAL TABLE native_kb_terms_trigram USING fts5(term, content='kb_terms', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER native_kb_terms_ai AFTER INSERT ON kb_terms BEGIN "
    "INSERT INTO native_kb_terms_trigram (rowid, term) VALUES (new.id, new.term); END",
    "CREATE TRIGGER native_kb_terms_ad AFTER DELETE ON kb_terms BEGIN "
    "INSERT INTO native_kb_terms_trigram (native_kb_terms_trigram, rowid, term) VALUES ('delete', old.id, old.term); END",
    "CREATE TRIGGER native_kb_terms_au AFTER UPDATE OF term ON kb_terms BEGIN "
    "INSERT INTO native_kb_terms_trigram (native_kb_terms_trigram, rowid, term) VALUES ('delete', old.id, old.term); "
    "INSERT INTO native_kb_terms_trigram (rowid, term) VALUES (new.id, new.term); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS native_kb_terms_au",
    "DROP TRIGGER IF EXISTS native_kb_terms_ad",
    "DROP TRIGGER IF EXISTS native_kb_terms_ai",
    "DROP TABLE IF EXISTS native_kb_terms_trigram",
    "DROP TRIGGER IF EXISTS native_kb_documents_au",
    "DROP TRIGGER IF EXISTS native_kb_documents_ad",
    "DROP TRIGGER IF EXISTS native_kb_documents_ai",
    "DROP TABLE IF EXISTS native_kb_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE native_kb_search (article_id BIGINT PRIMARY KEY "
    "REFERENCES kb_documents (article_id) ON DELETE CASCADE, document tsvector NOT NULL)",
    "CREATE INDEX native_kb_search_document ON native_kb_search USING gin (document)",
    """CREATE FUNCTION native_kb_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO native_kb_search (article_id, document) VALUES (NEW.article_id,
        setweight(to_tsvector(NEW.config::regconfig, NEW.title), 'A') ||
        setweight(to_tsvector(NEW.config::regconfig, NEW.questions), 'B') ||
        setweight(to_tsvector(NEW.config::regconfig, NEW.body), 'C'))
      ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document;
      RETURN NULL;
    END $$""",
    "CREATE TRIGGER native_kb_documents_search AFTER INSERT OR UPDATE ON kb_documents "
    "FOR EACH ROW EXECUTE FUNCTION native_kb_search_refresh()",
    "CREATE INDEX native_kb_terms_trgm ON kb_terms USING gin (term gin_trgm_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS native_kb_terms_trgm",
    "DROP TRIGGER IF EXISTS native_kb_documents_search ON kb_documents",
    "DROP FUNCTION IF EXISTS native_kb_search_refresh()",
    "DROP TABLE IF EXISTS native_kb_search",
]  # pg_trgm stays: other schemas may use it


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("known_questions", JSON_DOC, nullable=False),
        sa.Column("catalogue_items", JSON_DOC, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("published_at", WHEN),
        sa.PrimaryKeyConstraint("id", name="pk_kb_articles"),
        sa.UniqueConstraint("slug", name="uq_kb_articles_slug"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "kb_article_versions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("article_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("known_questions", JSON_DOC, nullable=False),
        sa.Column("catalogue_items", JSON_DOC, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name="fk_kb_article_versions_article_id_kb_articles"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_kb_article_versions"),
        sa.UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_id_version"),
    )
    op.create_table(
        "kb_documents",
        sa.Column("article_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("config", sa.String(32), nullable=False),
        sa.Column("terms", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_documents_article_id_kb_articles"),
        sa.PrimaryKeyConstraint("article_id", name="pk_kb_documents"),
    )
    op.create_index("ix_kb_documents_locale_category", "kb_documents", ["locale", "category"])
    op.create_table(
        "kb_terms",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("term", sa.String(40), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kb_terms"),
        sa.UniqueConstraint("term", name="uq_kb_terms_term"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "kb_synonyms",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("members", JSON_DOC, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kb_synonyms"),
    )
    op.create_table(
        "kb_searches",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("query", sa.String(200), nullable=False),
        sa.Column("normalized", sa.String(400), nullable=False),
        sa.Column("corrected", sa.String(400)),
        sa.Column("locale", sa.String(16)),
        sa.Column("category", sa.String(64)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("results", JSON_DOC, nullable=False),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("clicked_article_id", BIG_ID),
        sa.Column("clicked_at", WHEN),
        sa.PrimaryKeyConstraint("id", name="pk_kb_searches"),
        sa.UniqueConstraint("token", name="uq_kb_searches_token"),
    )
    op.create_index("ix_kb_searches_at", "kb_searches", ["at"])
    op.create_table(
        "kb_feedback",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("article_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_feedback_article_id_kb_articles"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_feedback"),
    )
    op.create_index("ix_kb_feedback_article_id", "kb_feedback", ["article_id"])
    for statement in POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_kb_feedback_article_id", table_name="kb_feedback")
    op.drop_table("kb_feedback")
    op.drop_index("ix_kb_searches_at", table_name="kb_searches")
    op.drop_table("kb_searches")
    op.drop_table("kb_synonyms")
    op.drop_table("kb_terms")
    op.drop_index("ix_kb_documents_locale_category", table_name="kb_documents")
    op.drop_table("kb_documents")
    op.drop_table("kb_article_versions")
    op.drop_table("kb_articles")
