#!/usr/bin/python3
"""ha_import.py: how long semlite_ha_import takes on a real home as Home Assistant keeps it.

A home of ../shared/data/homes (default giom, 208 devices, 1,745 entities, 85 automations)
is written out as HA writes it: .storage/core.area_registry, core.device_registry,
core.entity_registry, and an automations.yaml whose automations have the home's triggers and
actions (state triggers, device triggers by device id, service calls with targets, device
actions; the old and the 2024.10 spellings alternating). Then:

- the import of the three registries + automations.yaml, in one call, is timed (median and
  best of --runs, a fresh in-memory database each time);
- its automation members are compared with the home-format import of the same home: the same
  (automation, role, entity or device) rows, or the script fails.

    /usr/bin/python3 bench/ha_import.py [--home giom-fr-large] [--runs 20] [--so build/release/semlite.so]

With --write-only it only writes the files (tools/demo.sh imports them as a user would).
"""
import argparse
import json
import os
import sqlite3
import statistics
import sys
import time


def registries(home):
    areas = [{"id": a["area_id"], "name": a["name"], "aliases": [], "picture": None} for a in home["areas"]]
    devices = [{"id": d["device_id"], "name": d["name"], "name_by_user": None,
                "manufacturer": d.get("manufacturer"), "model": d.get("model"), "area_id": d.get("area_id"),
                "disabled_by": "user" if d.get("disabled") else None} for d in home["devices"]]
    device_area = {d["device_id"]: d.get("area_id") for d in home["devices"]}
    entities = []
    for e in home["entities"]:
        own = e.get("area_id")
        if own is not None and own == device_area.get(e.get("device_id")):
            own = None   # HA keeps the device's area on the device
        entities.append({"entity_id": e["entity_id"], "name": e["name"], "original_name": None,
                         "area_id": own, "device_id": e.get("device_id"),
                         "device_class": e.get("device_class"), "original_device_class": None,
                         "unit_of_measurement": e.get("unit"), "platform": e.get("platform") or "demo",
                         "entity_category": e.get("entity_category"), "has_entity_name": False,
                         "disabled_by": "user" if e.get("disabled") else None,
                         "hidden_by": "user" if e.get("hidden") else None})
    wrap = lambda key, name, rows: json.dumps({"version": 1, "minor_version": 1, "key": key, "data": {name: rows}})
    return (wrap("core.area_registry", "areas", areas), wrap("core.device_registry", "devices", devices),
            wrap("core.entity_registry", "entities", entities))


def q(s):
    return "'" + s.replace("'", "''") + "'"


def automations_yaml(home):
    by_name = {}
    for d in home["devices"]:
        by_name.setdefault(d["name"], []).append(d["device_id"])
    out = []
    for i, a in enumerate(home.get("automations", [])):
        new = i % 2 == 1   # 2024.10+: triggers/trigger, actions/action
        out.append(f"- id: '{1700000000000 + i}'")
        out.append(f"  alias: {q(a.get('alias') or 'automation %d' % i)}")
        out.append("  description: ''")
        out.append("  triggers:" if new else "  trigger:")
        kind = "trigger" if new else "platform"
        for e in a.get("trigger_entities", []):
            out += [f"  - {kind}: state", f"    entity_id: {e}", "    to: 'on'"]
        for name in a.get("trigger_devices", []):
            for dev in sorted(by_name.get(name, [])):
                out += [f"  - {kind}: device", f"    device_id: {dev}", "    domain: zha",
                        "    type: remote_button_short_press", "    subtype: turn_on"]
        if not a.get("trigger_entities") and not a.get("trigger_devices"):
            out[-1] += " []"
        conds = a.get("condition_entities", [])
        out.append("  conditions:" if new else "  condition:")
        for e in conds:
            out += ["  - condition: state", f"    entity_id: {e}", "    state: 'on'"]
        if not conds:
            out[-1] += " []"
        out.append("  actions:" if new else "  action:")
        call = "action" if new else "service"
        for e in a.get("action_entities", []):
            out += [f"  - {call}: {e.split('.')[0]}.turn_on", "    target:", f"      entity_id: {e}"]
        for name in a.get("action_devices", []):
            for dev in sorted(by_name.get(name, [])):
                out += [f"  - device_id: {dev}", "    domain: light", "    type: turn_on"]
        if not a.get("action_entities") and not a.get("action_devices"):
            out[-1] += " []"
        out.append("  mode: single")
    return "\n".join(out) + "\n"


MEMBERS = ("SELECT a.alias, m.role, coalesce(m.entity_id, 'device ' || m.device_id) FROM synergy_automations a "
           "JOIN synergy_automation_members m USING (automation_id) ORDER BY 1, 2, 3")


def connect(so):
    db = sqlite3.connect(":memory:")
    db.enable_load_extension(True)
    db.load_extension(so)
    return db


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", default="giom-fr-large")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--shared", default=os.environ.get("SHARED", "../shared"))
    ap.add_argument("--so", default="build/release/semlite.so")
    ap.add_argument("--out", default="build/bench-ha", help="where the generated HA files go")
    ap.add_argument("--write-only", action="store_true", help="write the HA files and stop (tools/demo.sh)")
    args = ap.parse_args()
    with open(os.path.join(args.shared, "data", "homes", args.home + ".json"), encoding="utf-8") as f:
        text = f.read()
    home = json.loads(text)
    areas, devices, entities = registries(home)
    autos = automations_yaml(home)
    os.makedirs(os.path.join(args.out, ".storage"), exist_ok=True)
    for name, body in (("core.area_registry", areas), ("core.device_registry", devices),
                       ("core.entity_registry", entities)):
        with open(os.path.join(args.out, ".storage", name), "w", encoding="utf-8") as f:
            f.write(body)
    with open(os.path.join(args.out, "automations.yaml"), "w", encoding="utf-8") as f:
        f.write(autos)
    if args.write_only:
        return 0

    so = os.path.abspath(args.so)
    times = []
    for _ in range(args.runs):
        db = connect(so)
        t = time.perf_counter()
        counts = db.execute("SELECT semlite_ha_import(?, ?, ?, ?)", (areas, devices, entities, autos)).fetchone()[0]
        times.append((time.perf_counter() - t) * 1000)
        got = db.execute(MEMBERS).fetchall()
        db.close()
    ref = connect(so)
    ref.execute("SELECT semlite_ha_import(?)", (text,))
    want = ref.execute(MEMBERS).fetchall()
    print(f"{args.home}: {len(areas)} + {len(devices)} + {len(entities)} bytes of registries, "
          f"{len(autos)} bytes of automations.yaml -> {counts}")
    print(f"semlite_ha_import (3 registries + automations.yaml): median {statistics.median(times):.1f} ms, "
          f"best {min(times):.1f} ms over {args.runs} runs")
    if got != want:
        print(f"MISMATCH: {len(got)} members from the HA files, {len(want)} from the home format", file=sys.stderr)
        for row in sorted(set(got) ^ set(want))[:20]:
            print("  ", row, "from HA files" if row in got else "from home format", file=sys.stderr)
        return 1
    print(f"members: the same {len(got)} (automation, role, entity or device) rows as the home-format import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
