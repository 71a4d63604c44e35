#!/usr/bin/env python3
"""Check the queue files that qgen wrote into a test bed, with Postfix's own tools.

Usage: check_qgen.py TESTBED_DIR EXPECTED_N [--actions]

TESTBED_DIR is a directory made by tests/testbed/testbed.sh up (its master must be
running: postqueue -j talks to showq).  Checks:
  * postqueue -c DIR/etc -j lists exactly EXPECTED_N messages; per queue the
    counts match the files on disk; message_size equals the C record's content
    size; recipients equal the R records;
  * every queue file: record structure (C first, offsets of M/X/E consistent with
    the C record, recipient count), name <-> inode (short and long IDs), hashed
    subdirectory as Postfix computes it, mode 0700, owner mail_owner; deferred:
    mtime in the future and a defer log (0600, mail_owner) with one block per R
    recipient whose offset= points at that R record;
  * postcat -c DIR/etc -q ID prints the whole content of a sample from each queue;
  * postsuper -c DIR/etc -s and -S report nothing (no renames to match inode
    numbers or hashed subdirectories);
  * with --actions: postsuper -d one deferred ID (queue file and defer log go),
    postsuper -h two deferred IDs, postsuper -H two held IDs, postqueue -i on two
    deferred IDs and the two released ones (qmgr and smtp then really read those
    files and defer them again), then the counts;
  * the maillog has no warning:/fatal:/panic:/error: lines.
Exit status 0 when everything holds; problems are printed on stderr.
"""
import json
import re
import os
import pwd
import random
import subprocess
import sys
import time

ALPHA = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
QUEUES = ["incoming", "active", "deferred", "hold", "maildrop", "corrupt"]

problems = []


def bad(msg):
    problems.append(msg)
    if len(problems) <= 30:
        print("check_qgen: " + msg, file=sys.stderr)


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, capture_output=True)
    return p.returncode, p.stdout, p.stderr


def postconf(etc, *names):
    rc, out, err = run(["postconf", "-c", etc, "-h", *names])
    if rc != 0:
        sys.exit("postconf failed: " + err.decode())
    return out.decode().splitlines()


def dec(s, base):
    v = 0
    for ch in s:
        v = v * base + ALPHA.index(ch)
    return v


def id_inode(qid):
    z = qid.rfind("z")
    if z >= 10:
        return dec(qid[z + 1:], 51), True
    return int(qid[5:], 16), False


def hash_dir(queue, qid, hashed, depth):
    if queue not in hashed:
        return queue
    src = qid
    z = qid.rfind("z")
    if z >= 10:
        src = "%05X" % dec(qid[z - 4:z], 52)
    parts = [queue]
    for i in range(depth):
        parts.append(src[i] if i < len(src) else "_")
    return "/".join(parts)


def records(data):
    i = 0
    n = len(data)
    while i < n:
        off = i
        t = chr(data[i])
        i += 1
        ln = 0
        shift = 0
        while True:
            if i >= n:
                raise ValueError("truncated length at %d" % off)
            b = data[i]
            i += 1
            ln |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if i + ln > n:
            raise ValueError("truncated record at %d" % off)
        yield off, t, data[i:i + ln]
        i += ln


def parse_queue_file(path):
    data = open(path, "rb").read()
    recs = list(records(data))
    info = {"rcpt": [], "done": [], "roff": {}, "content": []}
    if not recs or recs[0][1] != "C":
        raise ValueError("first record is not C")
    f = recs[0][2].decode().split()
    if len(recs[0][2]) != 95 or len(f) != 6:
        raise ValueError("bad C record %r" % recs[0][2])
    csize, doff, nrcpt = int(f[0]), int(f[1]), int(f[2])
    moff = xoff = None
    line = b""
    for off, t, d in recs:
        if t == "M":
            moff = off
            if off + 2 != doff:
                raise ValueError("data offset %d but M at %d" % (doff, off))
        elif t == "X":
            xoff = off
        elif t in "RD" and moff is None:
            info["rcpt" if t == "R" else "done"].append(d.decode())
            if t == "R":
                info["roff"][d.decode()] = off
        elif t in "NL" and moff is not None and xoff is None:
            line += d
            if t == "N":
                info["content"].append(line)
                line = b""
    if recs[-1][1] != "E":
        raise ValueError("last record is not E")
    if xoff is None or xoff - doff != csize:
        raise ValueError("content size %d but X-M = %s" % (csize, None if xoff is None else xoff - doff))
    if int(f[4]) != csize:
        raise ValueError("content length field %s != %d" % (f[4], csize))
    if nrcpt != len(info["rcpt"]) + len(info["done"]):
        raise ValueError("recipient count %d != %d" % (nrcpt, len(info["rcpt"]) + len(info["done"])))
    info["size"] = csize
    return info


def parse_defer_log(path):
    blocks = []
    cur = {}
    for line in open(path, encoding="utf-8", errors="replace").read().split("\n"):
        if line == "":
            if cur:
                blocks.append(cur)
            cur = {}
            continue
        if line.startswith("<"):
            continue                      # old-style compatibility line
        k, _, v = line.partition("=")
        cur[k] = v
    if cur:
        blocks.append(cur)
    return blocks


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    actions = "--actions" in sys.argv
    if len(args) != 2:
        sys.exit(__doc__)
    tdir, expect = os.path.abspath(args[0]), int(args[1])
    etc = tdir + "/etc"
    qdir, hashed, depth, longids, owner = postconf(
        etc, "queue_directory", "hash_queue_names", "hash_queue_depth",
        "enable_long_queue_ids", "mail_owner")
    hashed = [h for h in hashed.replace(",", " ").split()]
    depth = int(depth)
    uid = pwd.getpwnam(owner).pw_uid
    now = time.time()

    # 1. postqueue -j
    rc, out, err = run(["postqueue", "-c", etc, "-j"])
    if rc != 0:
        sys.exit("postqueue -j failed: " + err.decode())
    pq = {}
    for line in out.decode().splitlines():
        d = json.loads(line)
        pq[d["queue_id"]] = d
    if len(pq) != expect:
        bad("postqueue -j lists %d messages, expected %d" % (len(pq), expect))

    # 2. every file on disk
    ondisk = {}
    for q in QUEUES:
        for root, dirs, files in os.walk(os.path.join(qdir, q)):
            for name in files:
                ondisk[name] = (q, os.path.relpath(root, qdir))
    counts = {}
    for qid, (q, rel) in ondisk.items():
        counts[q] = counts.get(q, 0) + 1
    print("check_qgen: on disk: %s" % " ".join("%s=%d" % kv for kv in sorted(counts.items())))
    if set(ondisk) != set(pq):
        bad("postqueue -j and the spool differ: %d only in -j, %d only on disk"
            % (len(set(pq) - set(ondisk)), len(set(ondisk) - set(pq))))
    nlong = nshort = 0
    for qid, (q, rel) in ondisk.items():
        path = os.path.join(qdir, rel, qid)
        st = os.lstat(path)
        ino, islong = id_inode(qid)
        nlong += islong
        nshort += not islong
        if islong != (longids == "yes"):
            bad("%s: long=%s but enable_long_queue_ids=%s" % (qid, islong, longids))
        if ino != st.st_ino:
            bad("%s: name/inode mismatch (name says %d, inode %d)" % (qid, ino, st.st_ino))
        want = hash_dir(q, qid, hashed, depth)
        if rel != want:
            bad("%s: in %s, Postfix expects %s" % (qid, rel, want))
        if st.st_mode & 0o7777 != 0o700:
            bad("%s: mode %o" % (qid, st.st_mode & 0o7777))
        if st.st_uid != uid:
            bad("%s: owner %d" % (qid, st.st_uid))
        try:
            info = parse_queue_file(path)
        except ValueError as e:
            bad("%s: %s" % (qid, e))
            continue
        j = pq.get(qid)
        if j:
            if j["queue_name"] != q:
                bad("%s: postqueue says %s, file in %s" % (qid, j["queue_name"], q))
            if j["message_size"] != info["size"]:
                bad("%s: message_size %d != C record %d" % (qid, j["message_size"], info["size"]))
            if sorted(r["address"] for r in j["recipients"]) != sorted(info["rcpt"]):
                bad("%s: recipients differ from R records" % qid)
        if q == "deferred":
            if st.st_mtime <= now:
                bad("%s: deferred file mtime not in the future" % qid)
            dpath = os.path.join(qdir, hash_dir("defer", qid, hashed, depth), qid)
            try:
                dst = os.lstat(dpath)
            except FileNotFoundError:
                bad("%s: no defer log %s" % (qid, dpath))
                continue
            if dst.st_mode & 0o7777 != 0o600 or dst.st_uid != uid:
                bad("%s: defer log mode %o owner %d" % (qid, dst.st_mode & 0o7777, dst.st_uid))
            blocks = parse_defer_log(dpath)
            if sorted(b.get("recipient", "") for b in blocks) != sorted(info["rcpt"]):
                bad("%s: defer log recipients differ from R records" % qid)
            for b in blocks:
                r = b.get("recipient")
                if int(b.get("offset", -1)) != info["roff"].get(r):
                    bad("%s: defer log offset for %s is %s, R record at %s"
                        % (qid, r, b.get("offset"), info["roff"].get(r)))
                if not b.get("status", "").startswith("4.") or b.get("action") != "delayed" \
                        or not b.get("reason"):
                    bad("%s: defer log block incomplete: %r" % (qid, b))
                if not b.get("dsn_orig_rcpt", "").startswith("rfc822;"):
                    bad("%s: no dsn_orig_rcpt" % qid)
            if j and any(not r.get("delay_reason") for r in j["recipients"]):
                bad("%s: postqueue shows a recipient without delay_reason" % qid)
    print("check_qgen: %d files checked (%d short IDs, %d long IDs)" % (len(ondisk), nshort, nlong))

    # 3. postcat on a sample from each queue
    rnd = random.Random(1)
    for q in ("deferred", "hold"):
        ids = sorted(i for i, (qq, _) in ondisk.items() if qq == q)
        # include the biggest file and a few random ones
        sample = rnd.sample(ids, min(5, len(ids)))
        if ids:
            sample.append(max(ids, key=lambda i: os.path.getsize(
                os.path.join(qdir, ondisk[i][1], i))))
        for qid in sample:
            rc, out, err = run(["postcat", "-c", etc, "-q", qid])
            if rc != 0 or err:
                bad("postcat -q %s: rc=%d %s" % (qid, rc, err.decode(errors="replace")))
                continue
            text = out.split(b"\n")
            try:
                a = text.index(b"*** MESSAGE CONTENTS %s/%s ***"
                               % (ondisk[qid][1].encode(), qid.encode()))
                b = text.index(b"*** HEADER EXTRACTED %s/%s ***"
                               % (ondisk[qid][1].encode(), qid.encode()))
            except ValueError:
                bad("postcat -q %s: markers missing" % qid)
                continue
            info = parse_queue_file(os.path.join(qdir, ondisk[qid][1], qid))
            if text[a + 1:b] != info["content"]:
                bad("postcat -q %s: content differs from the N/L records" % qid)
            if b"*** MESSAGE FILE END" not in out:
                bad("postcat -q %s: no MESSAGE FILE END" % qid)
        print("check_qgen: postcat -q OK on %d %s messages" % (len(sample), q))

    # 4. structure check
    # -s renames files whose short ID does not match the inode or that sit in
    # the wrong hashed subdirectory (and says so); -S also checks long IDs.
    for opt in ("-s", "-S"):
        rc, out, err = run(["postsuper", "-c", etc, opt])
        if rc != 0 or out or err:
            bad("postsuper %s: rc=%d out=%r err=%r" % (opt, rc, out[:300], err[:300]))
        else:
            print("check_qgen: postsuper %s: silent, rc 0" % opt)

    # 5. actions
    if actions:
        dids = sorted(i for i, (qq, _) in ondisk.items() if qq == "deferred")
        hids = sorted(i for i, (qq, _) in ondisk.items() if qq == "hold")
        victim = dids[0]
        dlog = os.path.join(qdir, hash_dir("defer", victim, hashed, depth), victim)
        rc, out, err = run(["postsuper", "-c", etc, "-d", victim])
        if rc != 0 or os.path.exists(os.path.join(qdir, ondisk[victim][1], victim)) \
                or os.path.exists(dlog):
            bad("postsuper -d %s: rc=%d, file or defer log still there (%s)" % (victim, rc, err))
        else:
            print("check_qgen: postsuper -d %s: %s" % (victim, err.decode().strip()))
        to_hold = dids[1:3]
        rc, out, err = run(["postsuper", "-c", etc, "-h", "-"], "\n".join(to_hold).encode())
        print("check_qgen: postsuper -h: %s" % err.decode().strip().replace("\n", "; "))
        to_release = hids[:2]
        rc2, out, err2 = run(["postsuper", "-c", etc, "-H", "-"], "\n".join(to_release).encode())
        print("check_qgen: postsuper -H: %s" % err2.decode().strip().replace("\n", "; "))
        # let qmgr and smtp really process two of our deferred files
        flush = dids[3:5] + to_release
        for i in flush:
            run(["postqueue", "-c", etc, "-i", i])
        deadline = time.time() + 20
        seen = set()
        while time.time() < deadline and len(seen) < len(flush):
            time.sleep(0.5)
            for l in open(tdir + "/maillog", encoding="utf-8", errors="replace"):
                for i in flush:
                    if l.find(i + ": to=<") >= 0 and "status=deferred" in l:
                        seen.add(i)
        print("check_qgen: postqueue -i on 2 deferred + the 2 released messages: qmgr/smtp "
              "attempted delivery and deferred %d of %d" % (len(seen), len(flush)))
        if len(seen) < len(flush):
            bad("no delivery attempt logged for %s" % sorted(set(flush) - seen))
        rc, out, err = run(["postqueue", "-c", etc, "-j"])
        after = {}
        for line in out.decode().splitlines():
            d = json.loads(line)
            after[d["queue_id"]] = d["queue_name"]
        if len(after) != expect - 1 or victim in after:
            bad("after postsuper -d: %d messages listed" % len(after))
        for i in to_hold:
            if after.get(i) != "hold":
                bad("%s not in hold after postsuper -h (%s)" % (i, after.get(i)))
        for i in to_release:
            if after.get(i) not in ("deferred", "active", "incoming"):
                bad("%s not released after postsuper -H (%s)" % (i, after.get(i)))

    # 6. maillog
    try:
        log = open(tdir + "/maillog", encoding="utf-8", errors="replace").read().splitlines()
    except FileNotFoundError:
        log = []
    hits = [l for l in log if re.search(r"\]: (warning|fatal|panic|error): ", l)]
    for l in hits[:10]:
        bad("maillog: " + l)
    if not hits:
        print("check_qgen: maillog: no warning/fatal/panic/error lines (%d lines)" % len(log))

    if problems:
        print("check_qgen: %d problem(s)" % len(problems), file=sys.stderr)
        sys.exit(1)
    print("check_qgen: all checks passed")


if __name__ == "__main__":
    main()
