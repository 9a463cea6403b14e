"""A ClearML server stand-in for chatcast's tests: the API server and the file server on 127.0.0.1.

It speaks the REST protocol of clearml-server (https://clear.ml/docs/latest/docs/references/api/) for the
calls chatcast makes, and validates every request body with the request classes of the official
`clearml` SDK (test/trackers/requirements.txt pins it), so a client that drifts from the protocol gets
the 400 the real server would give. It keeps its state in --data-dir: a restart on the same ports keeps
projects, tasks, events, files and issued tokens, as a real server restarting keeps its databases.

Run: .venv-trackers/bin/python test/support/clearml_standin.py --data-dir DIR [--api-port N] [--files-port N]
with CLEARML_STANDIN_ACCESS_KEY / CLEARML_STANDIN_SECRET_KEY in the environment. When ready it prints one
JSON line {"api_port": ..., "files_port": ...} on stdout.

Test-only routes on the API port (no auth): GET /_standin/state, POST /_standin/faults (a JSON list of
{endpoint, status, subcode?, msg?, times?} or {endpoint: "events.add_batch", event_errors: MSG}),
POST /_standin/expire_tokens, and GET /_standin/web/projects/<project>/experiments/<task>/... (the web
UI's task page: 200 when that task is in that project).
"""

import argparse
import base64
import copy
import hashlib
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import jsonschema
from clearml.backend_api.services.v2_23 import auth, events, projects, tasks
from clearml.backend_api.session.datamodel import _CustomValidator

API_VERSION = "2.23"
MAX_LONG = 2**63 - 1
TOKEN_TTL_SEC = 30 * 24 * 3600

# clearml-server's state machine (apiserver/bll/task/utils.py): the status changes allowed without force.
STATE_MACHINE = {
    "created": {"queued", "in_progress"},
    "queued": {"created", "in_progress", "stopped"},
    "in_progress": {"stopped", "failed", "created", "completed"},
    "stopped": {"closed", "created", "failed", "queued", "in_progress", "published", "publishing", "completed"},
    "closed": {"created", "failed", "published", "publishing", "stopped"},
    "failed": {"created", "stopped", "published", "queued"},
    "publishing": {"published"},
    "published": set(),
    "completed": {"published", "in_progress", "created"},
}
LOCKED_TASK_STATUSES = ("publishing", "published")

EVENT_CLASSES = {
    "training_stats_scalar": events.MetricsScalarEvent,
    "training_stats_vector": events.MetricsVectorEvent,
    "training_debug_image": events.MetricsImageEvent,
    "plot": events.MetricsPlotEvent,
    "log": events.TaskLogEvent,
}


class ApiError(Exception):
    """An error as clearml-server reports it: HTTP code = result_code, a subcode, a message."""

    def __init__(self, code, subcode, msg, data=None):
        super().__init__(msg)
        self.code, self.subcode, self.msg, self.data = code, subcode, msg, data or {}


def validation_error(detail):
    return ApiError(400, 12, f"Validation error ({detail})")


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def strict_schema(schema):
    """The request schema with unknown fields refused at every level (the SDK's schemas leave them open)."""

    def visit(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    out = copy.deepcopy(schema or {})
    visit(out)
    return out


_STRICT = {}


def drop_nones(value):
    if isinstance(value, dict):
        return {k: drop_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nones(v) for v in value]
    return value


def validate_with(cls, body):
    """Validates a body as the SDK's request class does, then against its schema with unknown fields refused."""
    if not isinstance(body, dict):
        raise validation_error(f"expected a JSON object, got {type(body).__name__}")
    try:
        obj = cls.from_dict(body, strict=True)
        obj.validate()
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path)
        raise validation_error(f"{e.message}" + (f" at {where}" if where else ""))
    except (ValueError, TypeError, AssertionError) as e:
        raise validation_error(str(e))
    if cls not in _STRICT:
        _STRICT[cls] = strict_schema(cls._schema)
    try:
        jsonschema.validate(drop_nones(body), _STRICT[cls], cls=_CustomValidator)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path)
        raise validation_error(f"{e.message}" + (f" at {where}" if where else ""))
    return obj


class Store:
    """The server's databases: kept in memory, written to DATA_DIR/state.json after every change."""

    def __init__(self, data_dir, access_key, secret_key):
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self.files_dir = os.path.join(data_dir, "files")
        os.makedirs(self.files_dir, exist_ok=True)
        self.path = os.path.join(data_dir, "state.json")
        self.access_key, self.secret_key = access_key, secret_key
        self.faults = []
        if os.path.exists(self.path):
            with open(self.path) as f:
                self.s = json.load(f)
        else:
            self.s = {"projects": {}, "tasks": {}, "events": [], "files": {}, "tokens": {}, "logins": 0, "calls": []}

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.s, f)
        os.replace(tmp, self.path)

    def take_fault(self, endpoint):
        for fault in self.faults:
            if fault.get("endpoint") == endpoint and fault.get("times", 1) > 0:
                fault["times"] = fault.get("times", 1) - 1
                return fault
        return None

    # auth

    def login(self, header, body):
        kind, _, data = (header or "").partition(" ")
        if not header:
            raise ApiError(401, 20, "unauthorized (missing credentials)")
        if kind != "Basic":
            raise ApiError(401, 10, "unauthorized (bad authentication header type)")
        try:
            key, _, secret = base64.b64decode(data.encode()).decode("latin-1").partition(":")
        except Exception as e:  # noqa: BLE001
            raise ApiError(401, 21, f"unauthorized (malformed credentials) ({e})")
        if key != self.access_key or secret != self.secret_key:
            raise ApiError(401, 22, "unauthorized (invalid credentials) (failed to locate provided credentials)")
        ttl = body.get("expiration_sec") or TOKEN_TTL_SEC
        token = "standin." + secrets.token_urlsafe(24)
        self.s["tokens"][token] = time.time() + ttl
        self.s["logins"] += 1
        return {"token": token}

    def check_token(self, header):
        kind, _, token = (header or "").partition(" ")
        if not header:
            raise ApiError(401, 20, "unauthorized (missing credentials)")
        if kind != "Bearer":
            raise ApiError(401, 10, "unauthorized (bad authentication header type)")
        expires = self.s["tokens"].get(token)
        if expires is None:
            raise ApiError(401, 30, "invalid token (invalid jwt token): reason=Invalid token")
        if expires < time.time():
            raise ApiError(401, 30, "invalid token (invalid jwt token): reason=Signature has expired")

    # projects

    def project_out(self, p, only=None):
        return pick(p, only)

    def projects_get_all(self, req):
        found = list(self.s["projects"].values())
        if req.get("id"):
            found = [p for p in found if p["id"] in req["id"]]
        if req.get("name"):
            rx = compile_regex(req["name"])
            found = [p for p in found if rx.search(p["name"])]
        if req.get("basename"):
            found = [p for p in found if p["basename"] == req["basename"]]
        found = [p for p in found if tags_match(p.get("tags", []), req.get("tags"))]
        return {"projects": [self.project_out(p, req.get("only_fields")) for p in found]}

    def projects_create(self, req):
        name = req["name"]
        parts = name.split("/")
        if not name.strip() or any(not part.strip() for part in parts):
            raise ApiError(400, 407, f"invalid project name: name={name}")
        if any(p["name"] == name for p in self.s["projects"].values()):
            raise ApiError(
                400, 801,
                f"value combination already exists (unique field already contains this value): name={name}, company=standin",
            )
        parent = None
        for depth in range(1, len(parts)):
            path = "/".join(parts[:depth])
            existing = next((p for p in self.s["projects"].values() if p["name"] == path), None)
            parent = existing["id"] if existing else self._new_project(path, parts[depth - 1], parent, {})["id"]
        project = self._new_project(name, parts[-1], parent, req)
        return {"id": project["id"]}

    def _new_project(self, name, basename, parent, req):
        pid = uuid.uuid4().hex
        self.s["projects"][pid] = {
            "id": pid, "name": name, "basename": basename, "parent": parent,
            "description": req.get("description", ""), "tags": req.get("tags", []),
            "system_tags": req.get("system_tags", []), "default_output_destination": req.get("default_output_destination"),
            "created": now_iso(), "last_update": now_iso(), "company": {"id": "standin"},
        }
        return self.s["projects"][pid]

    # tasks

    def task(self, task_id):
        t = self.s["tasks"].get(task_id)
        if not t:
            raise ApiError(400, 101, f"invalid task id: id={task_id}, company=standin")
        return t

    def task_out(self, t, only=None):
        out = dict(t)
        out["execution"] = dict(t["execution"], artifacts=list(t["execution"]["artifacts"].values()))
        out.pop("history", None)
        return pick(out, only)

    def tasks_get_all(self, req):
        found = list(self.s["tasks"].values())
        for field in ("id", "project", "status", "type"):
            if req.get(field):
                found = [t for t in found if t[field] in req[field]]
        if req.get("name"):
            rx = compile_regex(req["name"])
            found = [t for t in found if rx.search(t["name"])]
        found = [t for t in found if tags_match(t["tags"], req.get("tags"))]
        found = [t for t in found if tags_match(t["system_tags"], req.get("system_tags"))]
        return {"tasks": [self.task_out(t, req.get("only_fields")) for t in found]}

    def tasks_get_by_id(self, req):
        return {"task": self.task_out(self.task(req["task"]))}

    def tasks_create(self, req):
        if req.get("project") and req["project"] not in self.s["projects"]:
            raise ApiError(400, 401, f"invalid project id: id={req['project']}")
        tid = uuid.uuid4().hex
        stamp = now_iso()
        self.s["tasks"][tid] = {
            "id": tid, "name": req["name"], "type": req["type"], "status": "created",
            "project": req.get("project"), "tags": list(req.get("tags", [])), "system_tags": list(req.get("system_tags", [])),
            "comment": req.get("comment", ""), "parent": req.get("parent"),
            "hyperparams": req.get("hyperparams", {}), "configuration": req.get("configuration", {}),
            "execution": {"artifacts": {}}, "created": stamp, "last_update": stamp, "status_changed": stamp,
            "status_reason": "", "status_message": "", "started": None, "completed": None,
            "last_iteration": 0, "company": {"id": "standin"}, "history": [],
        }
        self.log(tid, "tasks.create", None)
        return {"id": tid}

    def log(self, task_id, endpoint, before):
        t = self.s["tasks"][task_id]
        t["history"].append({"endpoint": endpoint, "status_before": before, "status_after": t["status"], "at": now_iso()})

    def for_update(self, t, force):
        # get_task_for_update: only a draft can be changed; force lets an in_progress one be changed too
        allowed = ("created", "in_progress") if force else ("created",)
        if t["status"] not in allowed:
            raise ApiError(400, 110, f"invalid task status: expected=created, status={t['status']}")

    def tasks_edit(self, req):
        t = self.task(req["task"])
        if not req.get("force") and t["status"] != "created":
            raise ApiError(400, 110, f"invalid task status: expected=created, status={t['status']}")
        if req.get("project") and req["project"] not in self.s["projects"]:
            raise ApiError(400, 401, f"invalid project id: id={req['project']}")
        before = t["status"]
        fields = {k: v for k, v in req.items() if k not in ("task", "force")}
        t.update(fields)
        t["last_update"] = now_iso()
        self.log(t["id"], "tasks.edit", before)
        return {"updated": 1, "fields": fields}

    def change_status(self, req, new_status, endpoint, extra=None):
        t = self.task(req["task"])
        current = t["status"]
        if not req.get("force") and new_status != current and new_status not in STATE_MACHINE[current]:
            raise ApiError(400, 110, f"invalid task status (Invalid status change): current_status={current}, new_status={new_status}")
        stamp = now_iso()
        fields = {
            "status": new_status, "status_reason": req.get("status_reason", ""),
            "status_message": req.get("status_message", ""), "status_changed": stamp, "last_update": stamp,
            **(extra or {}),
        }
        t.update(fields)
        self.log(t["id"], endpoint, current)
        return {"updated": 1, "fields": fields}

    def tasks_started(self, req):
        t = self.task(req["task"])
        res = self.change_status(req, "in_progress", "tasks.started", {"started": t.get("started") or now_iso()})
        return {**res, "started": res["updated"]}

    def tasks_completed(self, req):
        res = self.change_status(req, "completed", "tasks.completed", {"completed": now_iso()})
        if req.get("publish"):
            self.change_status(dict(req, force=True), "published", "tasks.completed")
            res["published"] = 1
        return res

    def tasks_failed(self, req):
        return self.change_status(req, "failed", "tasks.failed")

    def tasks_reset(self, req):
        t = self.task(req["task"])
        if not req.get("force") and t["status"] == "published":
            raise ApiError(400, 110, f"invalid task status: task_id={t['id']}, status={t['status']}")
        urls = [a.get("uri") for a in t["execution"]["artifacts"].values() if a.get("mode", "output") == "output" and a.get("uri")]
        mine = [e for e in self.s["events"] if e["task"] == t["id"]]
        urls += [e["url"] for e in mine if e.get("type") == "training_debug_image" and e.get("url")]
        deleted_files = 0
        if req.get("delete_external_artifacts", True):
            for url in urls:
                key = unquote(urlparse(url).path).lstrip("/")
                if self.s["files"].pop(key, None) is not None:
                    deleted_files += 1
        self.s["events"] = [e for e in self.s["events"] if e["task"] != t["id"]]
        t["execution"]["artifacts"] = {k: a for k, a in t["execution"]["artifacts"].items() if a.get("mode") == "input"}
        res = self.change_status(
            dict(req, status_reason="reset", status_message="reset"), "created", "tasks.reset",
            {"started": None, "completed": None, "last_iteration": 0},
        )
        return {**res, "deleted_indices": [], "events": {"deleted": len(mine)}, "deleted_models": 0, "deleted_files": deleted_files}

    def tasks_edit_hyper_params(self, req):
        t = self.task(req["task"])
        self.for_update(t, req.get("force"))
        before = t["status"]
        mode = req.get("replace_hyperparams", "none")
        params = t["hyperparams"]
        items = req["hyperparams"]
        if mode == "all":
            params = {}
        elif mode == "section":
            for item in items:
                params.pop(item.get("section") or "General", None)
        for item in items:
            section = item.get("section") or "General"
            if not item.get("name"):
                raise validation_error("hyperparams: a parameter needs a name")
            params.setdefault(section, {})[item["name"]] = {k: v for k, v in item.items() if v is not None} | {"section": section}
        t["hyperparams"] = params
        t["last_update"] = now_iso()
        self.log(t["id"], "tasks.edit_hyper_params", before)
        return {"updated": 1}

    def tasks_add_or_update_artifacts(self, req):
        t = self.task(req["task"])
        self.for_update(t, True)  # clearml-server calls this with force=True: a draft or a running task
        before = t["status"]
        for a in req["artifacts"]:
            a = dict(a)
            a.setdefault("mode", "output")
            t["execution"]["artifacts"][f"{a['key']}_{a['mode']}"] = a
        t["last_update"] = now_iso()
        self.log(t["id"], "tasks.add_or_update_artifacts", before)
        return {"updated": len(req["artifacts"])}

    # events

    def events_add_batch(self, lines, fault):
        added, errors = 0, {}

        def error(msg):
            errors[msg] = errors.get(msg, 0) + 1

        for event in lines:
            if fault and fault.get("event_errors"):
                error(fault["event_errors"])
                continue
            kind = event.get("type")
            if not kind:
                error("Event must have a 'type' field")
                continue
            if kind not in EVENT_CLASSES:
                error(f"Invalid event type {kind}")
                continue
            task_id = event.get("task")
            if not task_id:
                error("Event must have a 'task' field")
                continue
            t = self.s["tasks"].get(task_id)
            if not t or t["status"] in LOCKED_TASK_STATUSES:
                error(f"Invalid task id {task_id}")
                continue
            if event.get("iter", 0) > MAX_LONG:
                error(f"Iteration number should not exceed {MAX_LONG}")
                continue
            stored = dict(event)
            if kind == "plot" and not event.get("skip_validation"):
                try:
                    json.loads(event.get("plot_str") or "")
                    stored["valid_plot"] = True
                except ValueError:
                    stored["valid_plot"] = False
            self.s["events"].append(stored)
            t["last_iteration"] = max(t.get("last_iteration", 0), event.get("iter", 0))
            added += 1
        return {"added": added, "errors": sum(errors.values()), "errors_info": errors}

    # files

    def store_file(self, key, content_type, filename, data):
        blob = hashlib.sha256(key.encode()).hexdigest()
        with open(os.path.join(self.files_dir, blob), "wb") as f:
            f.write(data)
        self.s["files"][key] = {
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "content_type": content_type,
            "filename": filename, "blob": blob, "uploaded": now_iso(),
        }

    def read_file(self, key):
        entry = self.s["files"].get(key)
        if not entry:
            return None
        with open(os.path.join(self.files_dir, entry["blob"]), "rb") as f:
            return f.read()

    def public_state(self):
        s = copy.deepcopy(self.s)
        s.pop("tokens", None)
        return {
            "projects": list(s["projects"].values()),
            "tasks": [dict(t, artifacts=list(t["execution"]["artifacts"].values())) for t in s["tasks"].values()],
            "events": s["events"],
            "files": s["files"],
            "logins": s["logins"],
            "calls": s["calls"],
        }


def pick(obj, only):
    if not only:
        return obj
    keys = {"id", *(field.split(".")[0] for field in only)}
    return {k: v for k, v in obj.items() if k in keys}


def compile_regex(pattern):
    try:
        return re.compile(pattern)
    except re.error as e:
        raise ApiError(400, 21, f"malformed regular expression: pattern={pattern}, error={e}")


def tags_match(tags, wanted):
    """clearml-server's list filter: OR by default, "__$all"/"__$and" switch to AND, "__$not" or "-x" exclude."""
    if not wanted:
        return True
    have = set(tags or [])
    context, negate_next = "any", False
    any_terms, all_terms, excluded = [], [], []
    for term in wanted:
        if term in ("__$all", "__$and"):
            context = "all"
            continue
        if term in ("__$any", "__$or"):
            context = "any"
            continue
        if term == "__$not":
            negate_next = True
            continue
        if negate_next or term.startswith("-"):
            excluded.append(term if negate_next else term[1:])
            negate_next = False
            continue
        (all_terms if context == "all" else any_terms).append(term)
    if any_terms and not have.intersection(any_terms):
        return False
    if not all(t in have for t in all_terms):
        return False
    return not have.intersection(excluded)


ENDPOINTS = {
    "auth.login": (auth.LoginRequest, None),
    "projects.get_all": (projects.GetAllRequest, Store.projects_get_all),
    "projects.create": (projects.CreateRequest, Store.projects_create),
    "tasks.get_all": (tasks.GetAllRequest, Store.tasks_get_all),
    "tasks.get_by_id": (tasks.GetByIdRequest, Store.tasks_get_by_id),
    "tasks.create": (tasks.CreateRequest, Store.tasks_create),
    "tasks.edit": (tasks.EditRequest, Store.tasks_edit),
    "tasks.reset": (tasks.ResetRequest, Store.tasks_reset),
    "tasks.edit_hyper_params": (tasks.EditHyperParamsRequest, Store.tasks_edit_hyper_params),
    "tasks.started": (tasks.StartedRequest, Store.tasks_started),
    "tasks.completed": (tasks.CompletedRequest, Store.tasks_completed),
    "tasks.failed": (tasks.FailedRequest, Store.tasks_failed),
    "tasks.add_or_update_artifacts": (tasks.AddOrUpdateArtifactsRequest, Store.tasks_add_or_update_artifacts),
    "events.add_batch": (events.AddBatchRequest, None),
}
MUTATING = {"auth.login", "projects.create", "tasks.create", "tasks.edit", "tasks.reset", "tasks.edit_hyper_params",
            "tasks.started", "tasks.completed", "tasks.failed", "tasks.add_or_update_artifacts", "events.add_batch"}


def parse_batch(raw):
    """events.add_batch's body: JSON lines, one event object a line, each valid for its event class."""
    lines = []
    for number, line in enumerate(raw.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as e:
            raise ApiError(400, 18, f"batch request validation error (line {number} is not JSON: {e})")
        if not isinstance(event, dict):
            raise ApiError(400, 18, f"batch request validation error (line {number}: expected an event object, got {type(event).__name__})")
        cls = EVENT_CLASSES.get(event.get("type"))
        if cls is not None:
            try:
                validate_with(cls, event)
            except ApiError as e:
                raise ApiError(400, 18, f"batch request validation error (line {number}: {e.msg})")
        lines.append(event)
    if not lines:
        raise ApiError(400, 17, "batch request contains no items")
    return lines


def parse_multipart(body, content_type):
    """The parts of a multipart/form-data body: (field name, filename, content type, bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not content_type.startswith("multipart/form-data") or not match:
        raise ValueError(f"expected multipart/form-data with a boundary, got {content_type!r}")
    delimiter = b"--" + match.group(1).encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a multipart part has no header/body separator")
        data = data[:-2] if data.endswith(b"\r\n") else data
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        parts.append((name.group(1) if name else None, filename.group(1) if filename else None, headers.get("content-type"), data))
    return parts


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    store: Store = None
    role = "api"

    def log_message(self, fmt, *args):
        if os.environ.get("CLEARML_STANDIN_VERBOSE"):
            sys.stderr.write(f"[{self.role}] " + (fmt % args) + "\n")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, payload, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def envelope(self, endpoint, version, code=200, subcode=0, msg="OK", data=None, error_data=None):
        trx = uuid.uuid4().hex
        return {
            "meta": {
                "id": trx, "trx": trx,
                "endpoint": {"name": endpoint, "requested_version": version, "actual_version": API_VERSION},
                "result_code": code, "result_subcode": subcode, "result_msg": msg,
                "error_stack": None, "error_data": error_data or {},
            },
            "data": data if data is not None else {},
        }

    def do_GET(self):
        if self.role == "files":
            return self.files_get()
        path = urlparse(self.path).path
        if path == "/_standin/state":
            with self.store.lock:
                return self.send(200, self.store.public_state())
        web = re.match(r"^/_standin/web/projects/([^/]+)/experiments/([^/]+)(/.*)?$", path)
        if web:
            with self.store.lock:
                t = self.store.s["tasks"].get(web.group(2))
            ok = bool(t) and t["project"] == web.group(1)
            return self.send(200 if ok else 404, f"<title>{t['name'] if ok else 'not found'}</title>".encode(), "text/html")
        return self.api(path)

    def do_POST(self):
        if self.role == "files":
            return self.files_post()
        path = urlparse(self.path).path
        if path == "/_standin/faults":
            faults = json.loads(self.body() or b"[]")
            with self.store.lock:
                self.store.faults = faults
            return self.send(200, {"faults": len(faults)})
        if path == "/_standin/expire_tokens":
            with self.store.lock:
                for token in self.store.s["tokens"]:
                    self.store.s["tokens"][token] = 0
                self.store.save()
            return self.send(200, {"expired": len(self.store.s["tokens"])})
        return self.api(path)

    def api(self, path):
        match = re.match(r"^/(?:v(\d+\.\d+)/)?([a-z_]+\.[a-z_]+)$", path)
        endpoint = match.group(2) if match else path.lstrip("/")
        version = match.group(1) if match else None
        raw = self.body()
        status, data = 200, None
        try:
            if not match or endpoint not in ENDPOINTS:
                raise ApiError(400, 1, f"endpoint is not supported: {endpoint}")
            cls, handler = ENDPOINTS[endpoint]
            header = self.headers.get("Authorization")
            with self.store.lock:
                if endpoint != "auth.login":
                    self.store.check_token(header)
                if endpoint == "events.add_batch":
                    content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                    if content_type != "application/json-lines":
                        raise ApiError(400, 18, f"batch request validation error (expected application/json-lines, got {content_type or 'none'})")
                    body = parse_batch(raw)
                else:
                    try:
                        body = json.loads(raw) if raw.strip() else {}
                    except ValueError as e:
                        raise validation_error(f"the body is not JSON: {e}")
                    validate_with(cls, body)
                fault = self.store.take_fault(endpoint)
                if fault and fault.get("status"):
                    raise ApiError(fault["status"], fault.get("subcode", 0), fault.get("msg", "injected fault"))
                if endpoint == "auth.login":
                    data = self.store.login(header, body)
                elif endpoint == "events.add_batch":
                    data = self.store.events_add_batch(body, fault)
                else:
                    data = handler(self.store, body)
                if endpoint in MUTATING:
                    self.store.s["calls"].append({"endpoint": endpoint, "status": 200})
                    self.store.save()
            payload = self.envelope(endpoint, version, data=data)
        except ApiError as e:
            status = e.code
            with self.store.lock:
                self.store.s["calls"].append({"endpoint": endpoint, "status": e.code, "subcode": e.subcode})
            payload = self.envelope(endpoint, version, e.code, e.subcode, e.msg, error_data=e.data)
        except Exception as e:  # noqa: BLE001
            status = 500
            payload = self.envelope(endpoint, version, 500, 1, f"internal server error ({type(e).__name__}: {e})")
        self.send(status, payload)

    # the file server (fileserver/fileserver.py): POST / with multipart fields named by their target path

    def files_auth(self):
        try:
            with self.store.lock:
                self.store.check_token(self.headers.get("Authorization"))
            return True
        except ApiError as e:
            self.send(401, e.msg.encode(), "text/plain")
            return False

    def files_post(self):
        raw = self.body()
        if urlparse(self.path).path != "/":
            return self.send(405, b"Method Not Allowed", "text/plain")
        if not self.files_auth():
            return None
        with self.store.lock:
            fault = self.store.take_fault("files.upload")
        if fault:
            return self.send(fault.get("status", 500), fault.get("msg", "injected fault").encode(), "text/plain")
        try:
            parts = parse_multipart(raw, self.headers.get("Content-Type") or "")
        except ValueError as e:
            return self.send(400, str(e).encode(), "text/plain")
        results = []
        with self.store.lock:
            for name, filename, content_type, data in parts:
                if not name:
                    continue
                if filename is None:
                    return self.send(400, f"field {name!r} is not a file".encode(), "text/plain")
                key = name.lstrip("/")
                if ".." in key.split("/") or not key:
                    return self.send(404, b"Not Found", "text/plain")
                self.store.store_file(key, content_type, filename, data)
                results.append(key)
            self.store.s["calls"].append({"endpoint": "files.upload", "status": 200})
            self.store.save()
        return self.send(200, json.dumps(results).encode())

    def files_get(self):
        if not self.files_auth():
            return None
        key = unquote(urlparse(self.path).path).lstrip("/")
        with self.store.lock:
            data = self.store.read_file(key)
            entry = self.store.s["files"].get(key)
        if data is None:
            return self.send(404, b"Not Found", "text/plain")
        return self.send(200, data, entry.get("content_type") or "application/octet-stream")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--files-port", type=int, default=0)
    args = parser.parse_args()
    access_key = os.environ.get("CLEARML_STANDIN_ACCESS_KEY")
    secret_key = os.environ.get("CLEARML_STANDIN_SECRET_KEY")
    if not access_key or not secret_key:
        sys.exit("CLEARML_STANDIN_ACCESS_KEY and CLEARML_STANDIN_SECRET_KEY must be set")
    store = Store(args.data_dir, access_key, secret_key)

    servers = []
    for role, port in (("api", args.api_port), ("files", args.files_port)):
        handler = type(f"{role.title()}Handler", (Handler,), {"store": store, "role": role})
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(*_):
        with store.lock:  # every change is on disk once its request is answered
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(json.dumps({"api_port": servers[0].server_address[1], "files_port": servers[1].server_address[1]}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
