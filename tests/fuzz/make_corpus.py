#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ from the bad-input tables
(tests/data/bad-input/*.tsv), the shipped dimension files and hand-written valid records.
Deterministic: run it again after changing the tables; crash inputs found by fuzzing are added
by hand (named crash-*) and are kept."""
import hashlib, os, re, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
MAX = 4096  # seeds stay small; the fuzzers run with -max_len 8192


def tsv_rows(name):
    rows = []
    for line in open(os.path.join(ROOT, "tests", "data", "bad-input", name + ".tsv"), encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        _, enc, payload = line.split("\t", 2)
        if enc == "hex":
            rows.append(bytes.fromhex(payload.replace(" ", "")))
        else:
            text = re.sub(r"@repeat\((\d+),([^)]*)\)", lambda m: m.group(2) * int(m.group(1)), payload)
            rows.append(text.encode("utf-8"))
    return [r for r in rows if len(r) <= MAX]


def write(target, seeds):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    for s in seeds:
        if isinstance(s, str):
            s = s.encode("utf-8")
        with open(os.path.join(d, "seed-" + hashlib.sha1(s).hexdigest()[:16]), "wb") as f:
            f.write(s)


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def vstr(s):
    s = s.encode()
    return varint(len(s)) + s


LOG = ('{"timestamp":"2026-01-01T10:00:05.123Z","user_id":"user-00042","severity":"%s","content":"%s",'
       '"service":"auth","host":"node-07","request_id":"r-000000000001"}')
write("fuzz_log_event", [LOG % ("High", "Application crash detected in module auth"),
                         LOG % ("Low", "Request served in search"),
                         LOG % ("Critical", "Fatal: worker process crashed with signal 11 in payments"),
                         '{"user_id":"u\\u00e9\\ud83d\\ude00","severity":"High","content":"CRASH \\"quoted\\"",'
                         '"timestamp":"2026-01-01T10:15:30+02:00","extra":{"a":[1,2.5,-3e2,true,null]}}']
      + tsv_rows("crash-monitor"))

FRAME = ('{"frame_id":"scene-0001-f000001","scene_id":"scene-0001","node_id":"node-001","render_time_ms":1500,'
         '"gpu_utilization":0.750,"timestamp":"2026-01-01T10:00:05Z","status":"%s","attempt":%d,"memory_mb":8192%s}')
write("fuzz_render_event", [FRAME % ("ok", 1, ""), FRAME % ("failed", 2, ',"error":"OOM","cpu_utilization":0.5'),
                            FRAME % ("retry", 3, ',"error":null')] + tsv_rows("render-farm"))

CHAT = ('{"stream_id":"stream-0001","user_id":"user-17","message":"%s","emotes":%s,"timestamp":%s}')
write("fuzz_telemetra_chat", [CHAT % ("gg what a play", '["Kappa","PogChamp"]', '"2026-01-01T10:00:05Z"'),
                              CHAT % ("this is terrible lag", "[]", "1767261605000"),
                              CHAT % ("LUL", "null", '"2026-01-01T10:00:05.5-05:00"'),
                              '{"stream_id":"stream-0001","viewer_count":1234,"timestamp":"2026-01-01T10:00:05Z"}',
                              '{"stream_id":"stream-0002","viewer_count":0,"timestamp":1767261605000}']
      + tsv_rows("telemetra-chat"))

write("fuzz_timestamp", ["2026-01-01T10:15:30Z", "2026-01-01T10:15:30.123+02:00", "2026-01-01t10:15:30.123456789z",
                         "2026-01-01 10:15:30-23:59", "2016-12-31T23:59:60Z", "2024-02-29T00:00:00Z",
                         "0000-01-01T00:00:00+23:59", "9999-12-31T23:59:59.999-23:59", "2026-02-30T00:00:00Z",
                         "2026-01-01T10:15:30", "2026-01-01T10:15:30.Z", "1999-12-31T23:59:59.999Z",
                         "2100-01-01T00:00:00Z", ""])

write("fuzz_duration", ["500ms", "10s", "5m", "1min", "1h", "0", "250", "-1s", "1.5s", "10 s", "99999999999999999999h",
                        "1125899906842624", "312500000000h", "s"])

write("fuzz_kafka_config", ["bootstrap.servers=localhost:9092\nclient.id=streamwright",
                            "sasl.password=hunter2hunter2\nssl.key.password=\nsasl.jaas.config=a=b=c",
                            "=value\nnoequals\nacks=all\nacks=1\n", "security.protocol=SASL_SSL\n\n"])

scenes = open(os.path.join(ROOT, "topologies", "data", "render-farm", "scenes.json")).read().splitlines()
nodes = open(os.path.join(ROOT, "topologies", "data", "render-farm", "hardware_nodes.jsonl")).read().splitlines()
write("fuzz_dimension_rows", ["\n".join(scenes[:4]).rstrip(",") + "\n]", "\n".join(nodes[:3]) + "\n",
                              '{"scene_id":"s","complexity":-1}\n{"scene_id":""}\n{"scene_id":5}\n[1]\n{"node_id":"n","cpu_cores":1e300}',
                              '[{"node_id":"n","gpu_memory_gb":"80"},{"node_id":"m","cpu_cores":null,"pool":7},2]',
                              '{"scene_id":"s","frame_budget_ms":1e308,"complexity":1.7976931348623157e308}'])

# Render-farm binary records: a selector byte (0 frame, 1 scene aggregate, 2 node aggregate).
frame = varint(1500000) + varint(750000) + varint(2500001) + bytes([0x80 | 1]) + vstr("scene-0001") + vstr("node-001") \
    + vstr("aurora") + vstr("NVIDIA L40S")
sketch_empty = struct.pack("<d", 0.01) + varint(0) + struct.pack("<ddd", 0.0, 0.0, 0.0) + varint(0) + varint(0) \
    + struct.pack("<i", 0)
sketch_two = struct.pack("<d", 0.01) + varint(3) + struct.pack("<ddd", 1.0, 1500.0, 1502.0) + varint(0) + varint(2) \
    + struct.pack("<i", 0) + varint(0) + varint(1) + varint(360) + varint(2)
scene = b"".join(varint(v) for v in (3, 1, 0, 1, 3001000, 1500000, 2250000)) + vstr("aurora") + varint(3) \
    + varint(0) + vstr("node-001") + varint(7) + vstr("2") + varint(5) + vstr("x9")
node = varint(10) + varint(2) + varint(7500000) + vstr("NVIDIA A100 80GB")
write("fuzz_render_aggregates", [b"\x00" + frame, b"\x01" + scene + sketch_two, b"\x01" + scene + sketch_empty,
                                 b"\x01" + b"\x00" * 7 + vstr("") + varint(0) + sketch_empty, b"\x02" + node,
                                 b"\x02" + b"\x00\x00\x00\x00"])

# Telemetra binary records: a selector byte (0 contribution, 1 window state, 2 history).
def pstr(s):
    s = s.encode()
    return struct.pack("<I", len(s)) + s
chat = b"C" + struct.pack("<d", 0.5) + pstr("user-17") + struct.pack("<I", 2) + pstr("Kappa") + pstr("LUL")
viewer = b"V" + struct.pack("<q", 1234)
state = struct.pack("<qdqq", 3, 1.5, 2, 0) + struct.pack("<I", 2) + pstr("u1") + pstr("u2") + struct.pack("<I", 1) \
    + pstr("Kappa") + struct.pack("<q", 4) + struct.pack("<qq", 2468, 2)
history = struct.pack("<I", 3) + struct.pack("<qqq", 5, 7, 9)
write("fuzz_telemetra_state", [b"\x00" + chat, b"\x00" + viewer, b"\x01" + state, b"\x02" + history,
                               b"\x02" + struct.pack("<I", 0)])
# The load generator's replay reader: two bytes (read size, record size limit), then a file.
LINES = '{"k":"a","t":"2026-01-01T10:00:00Z","u":1767261600000}\n{"k":7,"t":"2026-01-01 10:00:01"}\n'
write("fuzz_replay", [b"\x03\x40" + LINES.encode(),
                      b"\x00\xff" + ('[\n  {"k": "a", "t": "2026-01-01T10:00:00.5+02:00"},\n  {"k": null},\n  7\n]').encode(),
                      b"\x05\x10" + ('{\n  "k": "b",\n  "n": [1, {"x": "}"}]\n}\n{\n  "k": "c"\n}\n').encode(),
                      b"\x01\x01" + b'\xef\xbb\xbf{"k":"a"}\r\n{"k":"b",\n{"k":"unterminated\n{"k":{"o":1}}\nnot json\n{"a":1 2}',
                      b"\x10\x02" + ('{"t":"9999-12-31T23:59:59Z","k":"\\u00e9"}' * 3).encode()])
write("fuzz_replay_time", [struct.pack("<q", s) + t.encode() for s, t in [
    (3600000, '"2026-01-01T10:00:00Z"'), (-1, '"2026-03-01 00:00:00.000"'), (86400000, '"2028-02-28t12:00:00.1+02:00"'),
    (1, '"2026-01-01T10:00:00.123456789-0530"'), (1000, "1767225600000"), (-5, "-42"), (0, '"2026-01-01T10:00:00+01"'),
    (1000, '"9999-12-31T23:59:59Z"')]])
# join-stats: events (a selector byte: 0 default options, 1 other options, 2 a number token after
# a decimals byte), and binary records (0 sample, 1 group statistics, 2 dataset rows as JSON).
SALE = ('{"order_id":"o-1-00000001","product_id":%s,"store_id":"s-03","price":%s,"quantity":%s,'
        '"timestamp":"2026-01-01T10:00:05Z"}')
OTHER = '{"sku":%s,"region":%s,"amount":%s,"tax":-0.5,"weight":3e2,"ts":"2026-01-01 10:00:05"}'
write("fuzz_join_stats_event",
      [b"\x00" + (SALE % t).encode() for t in (('"p-0001"', "19.99", "2"), ("42", "0.1", "null"),
                                                 ('"p-x0007"', "-1.5e3", "8"), ('"p-0001"', "9000000000000", "0"))]
      + [b"\x01" + (OTHER % t).encode() for t in (('"a"', '"emea"', "1.005"), ("7", "null", "12345678901234567.5"),
                                                  ('"b"', "3", "1e-999"))]
      + [b"\x02" + bytes([d]) + t.encode() for d, t in ((6, "19.99"), (0, "2.5"), (9, "-0.0000000005"),
                                                          (6, "1" + "0" * 70 + "e-70"), (2, "9e16"), (6, "01"))]
      + [b"\x00" + r for r in tsv_rows("join-stats")])


def zigzag(v):
    return (v << 1) ^ (v >> 127) if v < 0 else v << 1


sample = bytes([1]) + varint(0b101) + varint(zigzag(19990000)) + varint(zigzag(-3))
stats = varint(5) + varint(1) + varint(3) + varint(4) + varint(zigzag(79960000)) + varint(0) + varint(zigzag(9990000)) \
    + varint(zigzag(29990000)) + varint(0) + varint(2) + varint(zigzag(-4)) + varint(0) + varint(zigzag(-3)) \
    + varint(zigzag(-1))
write("fuzz_join_stats_state", [b"\x00" + sample, b"\x00" + bytes([0]) + varint(0), b"\x01" + stats,
                                b"\x01" + varint(0) + varint(0) + varint(3) + varint(0) * 3,
                                b'\x02[{"product_id":"p-0001","category":"books"},{"product_id":7,"category":12},'
                                b'{"product_id":"","category":"x"},{"product_id":"p","category":1.5},[1]]'])
print("corpus written to", OUT)
