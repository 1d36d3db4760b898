"""The same chain of N revisions (each creating table `t_<i>`) written for wasmig, sqlx-cli and Alembic."""
import os

from chain import write_chain_project  # the wasmig project every benchmark shares

ALEMBIC_REVISION = '''"""create t_{i}"""
from alembic import op

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, note TEXT)")


def downgrade():
    op.execute("DROP TABLE t_{i}")
'''

# The `generic` template of `alembic init`, with the URL taken from the environment.
ALEMBIC_ENV = '''import os

from sqlalchemy import engine_from_config, pool

from alembic import context

config = context.config
url = os.environ["BENCH_DB_URL"]


def run_migrations_online():
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = url
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
'''

ALEMBIC_INI = '''[alembic]
script_location = %(here)s/migrations
path_separator = os
'''


def write_wasmig(path, n):
    write_chain_project(path, n)


def write_sqlx(path, n):
    """`migrations/<version>_t_<i>.sql`, the layout `sqlx migrate add` writes (simple, up only)."""
    directory = os.path.join(path, "migrations")
    os.makedirs(directory)
    for i in range(n):
        with open(os.path.join(directory, f"{20260101000000 + i}_t_{i}.sql"), "w") as f:
            f.write(f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, note TEXT);\n")


def write_alembic(path, n):
    """alembic.ini, env.py and one script per revision, as `alembic revision` lays them out."""
    versions = os.path.join(path, "migrations", "versions")
    os.makedirs(versions)
    with open(os.path.join(path, "alembic.ini"), "w") as f:
        f.write(ALEMBIC_INI)
    with open(os.path.join(path, "migrations", "env.py"), "w") as f:
        f.write(ALEMBIC_ENV)
    for i in range(n):
        rev, down = f"{i:012x}", (f"{i - 1:012x}" if i else None)
        with open(os.path.join(versions, f"{rev}_t_{i}.py"), "w") as f:
            f.write(ALEMBIC_REVISION.format(i=i, rev=rev, down=down))
