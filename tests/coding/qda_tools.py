"""Rewrite an exported ``.qdpx`` as a QDA tool would after a coder worked on it.

Each style follows what the tool's REFI-QDA export writes (valid against Project.xsd):

- ``nvivo``: keeps the project's GUIDs; sources saved with Windows line endings (CR LF),
  positions counting CR and LF as two characters, as the schema says; selections
  carry no name.
- ``atlasti``: GUIDs in upper case; each selection names the words it covers.
- ``maxqda``: sources with CR LF and a byte-order mark, positions counting CR LF as
  one character; selections name their words.
- ``qualcoder``: fresh GUIDs for every source (and its file), user, code, selection and
  coding; users and codes keep their names, sources get file names; selections are
  named by their words (``seltext``).

``new`` lists the codings the tool's user added: (words in an answer, code name).
"""
from __future__ import annotations

import io
import uuid
import zipfile
from xml.etree import ElementTree as ET

NS = "urn:QDA-XML:project:1.0"
Q = f"{{{NS}}}"
STYLES = ("nvivo", "atlasti", "maxqda", "qualcoder")


def _crlf_positions(lf: str) -> list[int]:
    """For each index of an LF text, its index once every LF is CR LF."""
    out, extra = [], 0
    for i, ch in enumerate(lf):
        out.append(i + extra)
        if ch == "\n":
            extra += 1
    out.append(len(lf) + extra)
    return out


def restyle(qdpx: bytes, style: str, new: list[tuple[str, str]], user_name: str) -> bytes:
    ET.register_namespace("", NS)
    zin = zipfile.ZipFile(io.BytesIO(qdpx))
    root = ET.fromstring(zin.read("project.qde"))
    texts = {}
    for src in root.iter(Q + "TextSource"):
        path = "sources/" + src.get("plainTextPath").removeprefix("internal://")
        texts[src.get("guid")] = (path, zin.read(path).decode("utf-8"))
    codes = {c.get("name"): c.get("guid") for c in root.iter(Q + "Code")}

    # The tool's user, and their codings.
    user_guid = str(uuid.uuid4())
    users = root.find(Q + "Users")
    if users is None:
        users = ET.Element(Q + "Users")
        root.insert(0, users)
    ET.SubElement(users, Q + "User", guid=user_guid, name=user_name)
    for words, code_name in new:
        src = next(s for s in root.iter(Q + "TextSource") if words in texts[s.get("guid")][1])
        start = texts[src.get("guid")][1].index(words)
        sel = ET.Element(Q + "PlainTextSelection", guid=str(uuid.uuid4()), startPosition=str(start),
                         endPosition=str(start + len(words)), creatingUser=user_guid,
                         creationDateTime="2026-12-03T10:00:00Z")
        coding = ET.SubElement(sel, Q + "Coding", guid=str(uuid.uuid4()), creatingUser=user_guid)
        ET.SubElement(coding, Q + "CodeRef", targetGUID=codes[code_name])
        # Selections come before NoteRef and VariableValue in a TextSource.
        at = next((i for i, child in enumerate(src) if child.tag in (Q + "NoteRef", Q + "VariableValue")), len(src))
        src.insert(at, sel)

    files = {}
    for src in root.iter(Q + "TextSource"):
        path, text = texts[src.get("guid")]
        selections = src.findall(Q + "PlainTextSelection")
        for sel in selections:
            s0, e0 = int(sel.get("startPosition")), int(sel.get("endPosition"))
            words = text[s0:e0]
            if style == "nvivo":
                pos = _crlf_positions(text)
                sel.set("startPosition", str(pos[s0]))
                sel.set("endPosition", str(pos[e0]))
                sel.attrib.pop("name", None)
            else:
                sel.set("name", words)
        if style in ("nvivo", "maxqda"):
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8")
        if style == "maxqda":
            data = b"\xef\xbb\xbf" + data
        if style == "qualcoder":
            fresh = str(uuid.uuid4())
            src.set("guid", fresh)
            src.set("name", f"interview_{fresh[:8]}.txt")
            src.set("plainTextPath", f"internal://{fresh}.txt")
            path = f"sources/{fresh}.txt"
        files[path] = data

    if style == "qualcoder":
        fresh = {}
        for el in root.iter():
            for attr in ("guid",):
                if el.get(attr) and el.tag != Q + "TextSource":
                    fresh[el.get(attr)] = fresh.get(el.get(attr)) or str(uuid.uuid4())
                    el.set(attr, fresh[el.get(attr)])
        for el in root.iter():
            for attr in ("targetGUID", "creatingUser"):
                if el.get(attr) in fresh:
                    el.set(attr, fresh[el.get(attr)])
        for case in root.iter(Q + "Case"):          # its SourceRefs named the old sources
            for ref in case.findall(Q + "SourceRef"):
                case.remove(ref)
    if style == "atlasti":
        for el in root.iter():
            for attr in ("guid", "targetGUID", "creatingUser"):
                if el.get(attr):
                    el.set(attr, el.get(attr).upper())

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        zout.writestr("project.qde", b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root))
        for path, data in files.items():
            zout.writestr(path, data)
    return out.getvalue()
