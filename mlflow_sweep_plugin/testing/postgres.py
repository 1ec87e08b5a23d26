"""A throwaway PostgreSQL cluster (:class:`PostgresCluster`) and the session's
``postgres_cluster`` fixture.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from .server import free_port
from .unavailable import StoreUnavailable, started
from .versions import mlflow_major


#: the PostgreSQL binaries' directory, when not found by ``pg_config --bindir`` or under
#: /usr/lib/postgresql/*/bin
PG_BINDIR_ENV = "MLFLOW_SWEEP_PG_BINDIR"


def mlflow_postgres_driver() -> str:
    """The SQLAlchemy driver MLflow reaches PostgreSQL with here: psycopg 3 (``psycopg``) on
    MLflow 3.x; psycopg2 on 2.x, whose SQL store compares integer experiment ids with text
    parameters, which psycopg 3 refuses ("operator does not exist: integer = character
    varying"; docs/reference/compatibility.md)."""
    return "psycopg" if mlflow_major() >= 3 else "psycopg2"


def postgres_bindir() -> str | None:
    """The directory of ``initdb``/``pg_ctl``/``postgres``: ``$MLFLOW_SWEEP_PG_BINDIR``,
    ``pg_config --bindir``, the newest /usr/lib/postgresql/*/bin, else the ``initdb`` on
    PATH."""
    def complete(d):
        return d and all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres"))

    candidates = [os.environ.get(PG_BINDIR_ENV)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                             timeout=30).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path):
        try:
            return int(path.split("/")[-2])
        except ValueError:
            return -1

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    initdb = shutil.which("initdb")
    candidates.append(os.path.dirname(initdb) if initdb else None)
    return next((d for d in candidates if complete(d)), None)


class PostgresCluster:
    """A throwaway PostgreSQL cluster: ``initdb`` in a temp dir, ``pg_ctl start`` on
    127.0.0.1 and a free port (trust authentication, user ``mlflow``, fsync off for speed;
    committed transactions survive a server crash), ``stop()`` removes it all.

    As root, the server binaries run as the ``postgres`` user (``runuser``), as PostgreSQL
    refuses to run as root. :meth:`mlflow_database` gives a fresh, migrated MLflow
    database in a fraction of a second (a copy of a template migrated once).
    """

    user = "mlflow"

    def __init__(self, bindir: str | None = None):
        self.bindir = bindir or postgres_bindir()
        self.port: int | None = None
        self.root: str | None = None
        self._run_as: list = []
        self._template_ready = False
        self._counter = 0

    # -- lifecycle -------------------------------------------------------------------
    def _run(self, *args, timeout=120):
        return subprocess.run([*self._run_as, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)

    def start(self) -> "PostgresCluster":
        if self.bindir is None:
            raise StoreUnavailable("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: "
                                   "install Debian's postgresql package or set " + PG_BINDIR_ENV)
        try:
            import psycopg  # noqa: F401 - the cluster's own administration (execute)
        except ImportError:
            raise StoreUnavailable("psycopg is not installed (pip install 'psycopg[binary]')") from None
        if mlflow_postgres_driver() == "psycopg2":
            try:
                import psycopg2  # noqa: F401 - MLflow 2.x's driver here (postgresql+psycopg2://)
            except ImportError:
                raise StoreUnavailable("MLflow 2.x needs psycopg2 for PostgreSQL and it is not installed "
                                       "(pip install psycopg2-binary)") from None
        owner = None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            import pwd  # POSIX only, and only as root

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise StoreUnavailable("running as root and there is no 'postgres' user to run "
                                       "PostgreSQL as (it refuses to run as root)") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise StoreUnavailable("running as root and no runuser to start PostgreSQL as 'postgres'")
            self._run_as = [runuser, "-u", "postgres", "--"]
        # not under pytest's tmp dir: that is private to this user, and the server may be another
        self.root = tempfile.mkdtemp(prefix="mlflow-sweep-pg-")
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        os.chmod(self.root, 0o700)
        data = os.path.join(self.root, "data")
        init = self._run(os.path.join(self.bindir, "initdb"), "-D", data, "-U", self.user, "-A", "trust",
                         "-E", "UTF8", "--locale=C", "-N")
        if init.returncode != 0:
            self.stop()
            raise StoreUnavailable(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")
        last = ""
        for _ in range(3):  # a free port can be taken between choosing it and binding it
            self.port = free_port()
            started = self._pg_ctl_start()
            if started.returncode == 0:
                return self
            last = self.log_tail() or started.stderr
        self.stop()
        raise StoreUnavailable(f"PostgreSQL did not start: {last.strip()[-500:]}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            with open(os.path.join(self.root, "server.log"), errors="replace") as fh:
                return fh.read()[-n:]
        except (OSError, TypeError):
            return ""

    def stop(self) -> None:
        """Stop the server and remove the cluster's directory."""
        if self.root is None:
            return
        data = os.path.join(self.root, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            self._run(os.path.join(self.bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop",
                      timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def restart(self) -> None:
        """Stop and start the server on the same port (what a crash and a restart look
        like to clients: their connections are gone)."""
        data = os.path.join(self.root, "data")
        pg_ctl = os.path.join(self.bindir, "pg_ctl")
        self._run(pg_ctl, "-D", data, "-m", "immediate", "-w", "stop", timeout=60)
        self.start_again()

    def stop_server(self) -> None:
        """Stop the server only (the data stays): clients cannot connect until
        :meth:`start_again`."""
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.root, "data"),
                  "-m", "immediate", "-w", "stop", timeout=60)

    def _pg_ctl_start(self):
        # fsync off: the machine does not crash under a test, only the server does (an
        # immediate stop), and the OS keeps what was written. synchronous_commit stays on:
        # a commit the client saw must survive that stop, as on a real server (with it off,
        # the run a job created just before an outage could vanish).
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c fsync=off "
                   "-c full_page_writes=off -c max_connections=300")
        return self._run(os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.root, "data"),
                         "-l", os.path.join(self.root, "server.log"), "-w", "-t", "60", "-o", options,
                         "start")

    def start_again(self) -> None:
        started = self._pg_ctl_start()
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again: {self.log_tail(500)}")

    # -- databases -------------------------------------------------------------------
    def uri(self, database: str) -> str:
        """The SQLAlchemy URI MLflow uses for ``database`` (psycopg 3 as the driver; psycopg2
        on MLflow 2.x: :func:`mlflow_postgres_driver`)."""
        return f"postgresql+{mlflow_postgres_driver()}://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, params=None, database: str = "postgres"):
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database,
                             autocommit=True, connect_timeout=30) as con:
            cur = con.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new empty database (a copy of ``template`` when given); returns its name."""
        self._counter += 1
        name = name or f"db_{os.getpid()}_{self._counter}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing whatever connections are still open to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _mlflow_template(self) -> str:
        name = "mlflow_template"
        if not self._template_ready:
            from mlflow.tracking import MlflowClient  # heavy: only when a test uses it

            self.create_database(name)
            MlflowClient(self.uri(name)).search_experiments()  # MLflow's schema migrations, once
            # a template may have no open connection when it is copied: close MLflow's
            self.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            self.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            self._template_ready = True
        return name

    def mlflow_database(self, default_artifact_location: str | None = None) -> str:
        """A fresh, migrated MLflow database; returns its URI. ``default_artifact_location``
        becomes the Default experiment's (else it would be ./mlruns/0 of whoever migrated)."""
        name = self.create_database(template=self._mlflow_template())
        if default_artifact_location:
            self.execute("UPDATE experiments SET artifact_location = %s WHERE experiment_id = 0",
                         (default_artifact_location,), database=name)
        return self.uri(name)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster for the session (see :class:`PostgresCluster`);
    the test skips, with the reason, when it cannot be started."""
    cluster = started(PostgresCluster(), "PostgreSQL")
    yield cluster
    cluster.stop()
