#!/usr/bin/env python3
"""A git fast-import stream of a data branch with N merge requests.

usage: fixture.py [N] [AUTHORS] [APP] [BIG] | git fast-import --quiet

50 authors by default, each merge request with a title, a target, labels both ways
(open or closed, plus needs-review on every third), three comments (the author's
description and two others) and a v1 revision tag pointing at a commit on main.
With APP `issues`, the same shape on apps/issues/data for `git issue` (a title,
no target and no tags), so that both apps are measured on the same data. With BIG, the first merge request
(the first author's number 1) has BIG more comments, from every author in turn.
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
authors_n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
app = sys.argv[3] if len(sys.argv) > 3 else "merge-reqs"
big = int(sys.argv[4]) if len(sys.argv) > 4 else 0
issues = app == "issues"
authors = ["%040X" % (0x1000 + i * 7919) for i in range(authors_n)]
out = sys.stdout.buffer
mark = 0


def blob(data):
    global mark
    mark += 1
    b = data.encode()
    out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(b)) + b + b"\n")
    return mark


def ts(i):
    return "2026-%02d-%02dT%02d:%02d:00Z" % (1 + i % 12, 1 + i % 28, i % 24, i % 60)


main_readme = blob("hello\n")
out.write(b"commit refs/heads/main\nmark :900000000\ncommitter B <b@x> 1700000000 +0000\ndata 5\nmain\nM 100644 :%d README\n\n" % main_readme)

acl = blob("owner create-branch,create-tag,fast-forward,force,delete ^.*$\n")
out.write(b"commit refs/heads/apps/access-control\ncommitter B <b@x> 1700000000 +0000\ndata 3\nac\nM 100644 :%d refs/owner.conf\n\n" % acl)

labels = ["open", "closed", "needs-review", "merged", "ci-pass", "ci-fail"]
files = []  # (mode, mark, path)
for l in labels:
    files.append(("100644", blob(l + "\n"), "labels/%s/description" % l))
link_marks = {l: blob("/labels/" + l) for l in labels}
per_author = {}
tags = []
for i in range(n):
    a = authors[i % authors_n]
    k = per_author.get(a, 0) + 1
    per_author[a] = k
    mr = "%s/%s/%d" % (app, a, k)
    files.append(("100644", blob("Merge request %d: fix the frobnicator in module %d\n" % (i, i % 97)), mr + "/title"))
    if not issues:
        files.append(("100644", blob("main\n"), mr + "/target"))
    mine = ["open" if i % 5 else "closed"] + (["needs-review"] if i % 3 == 0 else [])
    for l in mine:
        files.append(("120000", link_marks[l], "%s/labels/%s" % (mr, l)))
        files.append(("120000", blob("/" + mr), "labels/%s/%s/%d" % (l, a, k)))
    commenters = [a, authors[(i + 1) % authors_n], authors[(i + 2) % authors_n]]
    for j, c in enumerate(commenters):
        body = "Date: %s\nRevision: 1\n\nComment %d on merge request %d: looks %s to me.\n" % (
            ts(i + j), j, i, ["good", "odd", "fine"][j])
        files.append(("100644", blob(body), "%s/comments/%s/0" % (mr, c)))
    if i == 0:
        for j in range(big):
            c = authors[j % authors_n]
            body = "Date: %s\nRevision: 1\n\nReview comment %d: please look at line %d again.\n" % (ts(j), j, j)
            files.append(("100644", blob(body), "%s/comments/%s/%d" % (mr, c, 1 + j // authors_n)))
    tags.append("refs/tags/apps/merge-reqs/%s/%d-v1" % (a, k))

out.write(b"commit refs/heads/apps/%s/data\ncommitter B <b@x> 1700000000 +0000\ndata 5\ndata\n" % app.encode())
for mode, m, path in files:
    out.write(b"M %s :%d %s\n" % (mode.encode(), m, path.encode()))
out.write(b"\n")
for t in [] if issues else tags:
    out.write(b"reset %s\nfrom :900000000\n\n" % t.encode())
