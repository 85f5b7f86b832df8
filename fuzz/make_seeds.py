#!/usr/bin/env python3
"""Write the small seed inputs under corpus/ (run from fuzz/; output is committed).

Every seed is made here from scratch: hash and ignore lines, tiny CUD/CVD-shaped
containers with made-up members, and minimal hand-built PE headers.
"""
import gzip, hashlib, io, json, os, sqlite3, struct, tarfile, tempfile

def write(target, name, data):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    with open(f"corpus/{target}/{name}", "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)

EICAR_MD5 = "44d88612fea8a8f36de82e1278abb02f"
HASH_LINES = {
    "md5": f"{EICAR_MD5}:68:Win.Test.EICAR_HDB-1",
    "sha1-flevel": "3395856ce81f2b7382dee72602f798b642f14140:68:Eicar-Sha1:73",
    "sha256-any-size": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:Eicar-Sha256:73:255",
    "mdb": "45056:f9b304ced34fcce3ab75c6dc58ad59e4d62177ffed35494f79f09bc4e8986c16:Win.Section",
    "mdb-md5": "512:0123456789abcdef0123456789ABCDEF:Sect-1:20:",
    "crlf": f"{EICAR_MD5}:68:Crlf\r",
    "comment": "# a comment",
    "out-of-level": f"{EICAR_MD5}:68:Future:9999",
    "bad-any-size": f"{EICAR_MD5}:*:NoLevel",
    "too-many-fields": f"{EICAR_MD5}:68:a:1:2:3",
    "bad-hex": "44d88612fea8a8f36de82e1278abb0zz:68:BadHex",
    "odd-length": "44d8861:68:Short",
    "zero-size": f"{EICAR_MD5}:0:Zero",
}
for name, line in HASH_LINES.items():
    write("hash_line", name, line)
write("hash_line", "not-utf8", b"\xff\xfe:68:\xc3")

IGNORE_LINES = {
    "name": "Win.Test.EICAR_HDB-1",
    "pinned": f"Win.Test.EICAR_HDB-1:{hashlib.md5(HASH_LINES['md5'].encode()).hexdigest()}",
    "old-form": "daily.ndb:1234:Some.Signature",
    "crlf": "Name\r",
    "comment": "#Name",
    "bad-md5": "Name:xyz",
    "empty-name": ":",
    "too-many": "a:b:c:d",
}
for name, line in IGNORE_LINES.items():
    write("ignore_line", name, line)

def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            t.addfile(info, io.BytesIO(data))
    body = buf.getvalue().rstrip(b"\0")  # drop the 10 KiB record padding
    return body.ljust(-(-len(body) // 512) * 512, b"\0") + b"\0" * 1024

def gz(data):
    return gzip.compress(data, mtime=0)

def container(payload, md5=None, dsig="nosig", sigs=1):
    md5 = md5 or hashlib.md5(payload).hexdigest()
    head = f"ClamAV-VDB:01 Jan 2024 00-00 +0000:1:{sigs}:216:{md5}:{dsig}:seed:1704067200"
    return head.encode().ljust(512, b" ") + payload

hdb = (HASH_LINES["md5"] + "\n").encode()
info_body = f"ClamAV-VDB:01 Jan 2024 00-00 +0000:1:1:216:x:x:seed:1704067200\n" \
            f"seed.hdb:{len(hdb)}:{hashlib.sha256(hdb).hexdigest()}\n"
write("cvd_open", "cud-gzip", container(gz(tar_of([("seed.hdb", hdb)]))))
write("cvd_open", "cud-plain-tar", container(tar_of([("seed.hdb", hdb), ("seed.ign2", b"Name\n")])))
write("cvd_open", "cud-info", container(gz(tar_of([("seed.info", info_body.encode()), ("seed.hdb", hdb)]))))
write("cvd_open", "cld-info-dsig", container(tar_of([("seed.info", (info_body + "DSIG:abc\n").encode()), ("seed.hdb", hdb)])))
write("cvd_open", "cvd-bad-md5", container(gz(tar_of([("seed.hdb", hdb)])), md5="0" * 32))
write("cvd_open", "header-only", container(b""))
write("cvd_open", "header-7-fields", b"ClamAV-VDB:x:1:2:3:m:d:b".ljust(512, b"\0"))
write("cvd_open", "short", b"ClamAV-VDB:")

def pe(plus=False, sections=((0x1000, 0x200, 0x200),), entry=0x1000, size=None, falign=0x200):
    opt_fixed, magic = (112, 0x20b) if plus else (96, 0x10b)
    soh = opt_fixed + 16 * 8
    dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)
    fh = struct.pack("<HHIIIHH", 0x8664 if plus else 0x14c, len(sections), 0, 0, 0, soh, 0x102)
    opt = bytearray(soh)
    struct.pack_into("<H", opt, 0, magic)
    struct.pack_into("<III", opt, 16, entry, 0x1000, 0)     # entry, base of code, (base of data)
    struct.pack_into("<II", opt, 32, 0x1000, falign)        # section / file alignment
    struct.pack_into("<I", opt, 60, 0x200)                  # size of headers
    struct.pack_into("<I", opt, opt_fixed - 4, 16)          # number of data directories
    sh = b"".join(struct.pack("<8sIIIIIIHHI", b".s%d" % i, rsz, va, rsz, raw, 0, 0, 0, 0, 0x60000020)
                  for i, (va, raw, rsz) in enumerate(sections))
    head = (dos + b"PE\0\0" + fh + bytes(opt) + sh).ljust(0x200, b"\0")
    end = max(raw + rsz for _, raw, rsz in sections)
    body = bytes((i * 7) & 0xff for i in range(end - 0x200))
    return (head + body)[: size or end]

write("pe_sections", "pe32", pe())
write("pe_sections", "pe32plus", pe(plus=True))
write("pe_sections", "two-sections", pe(sections=((0x1000, 0x200, 0x200), (0x2000, 0x400, 0x100))))
write("pe_sections", "truncated-section", pe(size=0x280))
write("pe_sections", "odd-file-alignment", pe(falign=0x40, sections=((0x1000, 0x200, 0x90),)))
write("pe_sections", "entry-unmapped", pe(entry=0x9000))
write("pe_sections", "mz-only", b"MZ" + b"\0" * 62)
write("pe_sections", "elf", b"\x7fELF\x02\x01\x01" + b"\0" * 9)
write("pe_sections", "zip", b"PK\x05\x06" + b"\0" * 18)

# Indicator feeds: STIX patterns, signature-base IOC lines, whole feeds, and
# objects to match (text, a Chrome-style SQLite history).
STIX_PATTERNS = {
    "domain": "[domain-name:value='weather4free.com']",
    "and-escapes": "[file:hashes.'SHA-256' = 'ab' AND file:name = 'x=\\'y\\'']",
    "observations": "[file:name = 'a'] OR ([process:name = 'b'] AND [url:value = 'http://x/?a=1'])",
    "literals": "[file:size = -1 AND x-y:z = 1.25 AND x-y:w = true]",
    "refused": "[file:name = 'a'] FOLLOWEDBY [file:name MATCHES 'b'] WITHIN 5 SECONDS",
}
for name, p in STIX_PATTERNS.items():
    write("stix_pattern", name, p)
IOC_LINES = {
    "hash": "0c2674c3a97c53082187d930efb645c2;DEEP PANDA\n",
    "filename": "# Regin\n\\\\usbclass\\.sys;80\n(?i)\\\\procdump(64)?\\.exe;50;(?i)(SysInternals\\\\)\n",
    "c2": "# Snowman\nsuroot.com\n58.64.143.244;65\n",
}
for name, text in IOC_LINES.items():
    write("ioc_line", name, text)
    write("indicator_feed", f"ioc-{name}", text)
write("indicator_feed", "stix-bundle", json.dumps({"type": "bundle", "id": "bundle--s", "objects": [
    {"type": "malware", "id": "malware--m", "name": "Seed"},
    {"type": "indicator", "id": "indicator--i", "pattern": "[domain-name:value = 'evil.com']"},
    {"type": "relationship", "id": "relationship--r", "relationship_type": "indicates",
     "source_ref": "indicator--i", "target_ref": "malware--m"}]}))
write("indicator_feed", "misp-event", json.dumps({"info": "Stalkerware indicators", "Object": [
    {"uuid": "o", "Attribute": [{"object_relation": "name", "type": "text", "value": "Spy"},
                                {"object_relation": "domain", "type": "domain", "value": "c2.spy.example"}]}]}))
write("indicator_match", "text", "GET https://a.evil.com/ from spy@evil.com to 10.0.0.1 https://x.example/p?a=1\n")
with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "History")
    c = sqlite3.connect(db)
    c.executescript(
        "CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT, url LONGVARCHAR, title LONGVARCHAR,"
        " visit_count INTEGER DEFAULT 0 NOT NULL, typed_count INTEGER DEFAULT 0 NOT NULL,"
        " last_visit_time INTEGER NOT NULL, hidden INTEGER DEFAULT 0 NOT NULL);"
        "INSERT INTO urls(url, title, last_visit_time) VALUES ('https://notevil.com/', 't', 1);"
        "INSERT INTO urls(url, title, last_visit_time) VALUES ('https://www.evil.com/', 't', 2);")
    c.commit()
    c.close()
    with open(db, "rb") as f:
        write("indicator_match", "chrome-history", f.read())

# Inventory: Android's package list (text, and the same as Android Binary
# XML), and registry hives: an empty hive (base block, one bin with the root
# key and its security descriptor, after the public REGF description) and,
# where hivexregedit (Debian libwin-hivex-perl) is installed, one it filled.
PACKAGES_XML = """<?xml version='1.0' encoding='utf-8' standalone='yes' ?>
<packages>
    <version sdkVersion="30" databaseVersion="3" />
    <package name="com.kaspersky.security.cloud" codePath="/data/app/~~q0Ab==/com.kaspersky.security.cloud-Hh3N==" ft="18b2a4c9d28" version="4020" userId="10212">
        <sigs count="1" schemeVersion="2"><cert index="5" /></sigs>
    </package>
    <package name="org.mozilla.firefox" codePath="/data/app/~~x==/org.mozilla.firefox-y==" version="2015" userId="10213" />
</packages>
"""
write("inventory_packages", "packages.xml", PACKAGES_XML)

def abx(tags):
    """ABX for nested (name, [(attr, value)], children) tags, string values."""
    out, interned = bytearray(b"ABX\0\x10"), []
    def name(s):
        if s in interned:
            out.extend(struct.pack(">H", interned.index(s)))
        else:
            out.extend(b"\xff\xff" + struct.pack(">H", len(s)) + s.encode())
            interned.append(s)
    def tag(t):
        n, attrs, children = t
        out.append(0x32); name(n)
        for a, v in attrs:
            out.append(0x2F); name(a); out.extend(struct.pack(">H", len(v)) + v.encode())
        for c in children:
            tag(c)
        out.append(0x33); name(n)
    for t in tags:
        tag(t)
    out.append(0x11)
    return bytes(out)
write("inventory_packages", "packages.abx", abx([("packages", [], [
    ("package", [("name", "com.kaspersky.security.cloud"), ("version", "4020")], []),
    ("package", [("name", "org.mozilla.firefox"), ("version", "2015")], [])])]))

def empty_hive():
    cell = lambda d: struct.pack("<i", -((4 + len(d) + 7) & ~7)) + d + b"\0" * (((4 + len(d) + 7) & ~7) - 4 - len(d))
    name = b"ROOT"
    sid = struct.pack("<BB6sII", 1, 2, b"\0\0\0\0\0\x05", 32, 544)
    sd = struct.pack("<BBHIIII", 1, 0, 0x8000, 20, 20 + len(sid), 0, 0) + sid + sid
    nk_off, nk_len = 0x20, (4 + 76 + len(name) + 7) & ~7
    sk_off = nk_off + nk_len
    nk = b"nk" + struct.pack("<HQIIIIIIIIIIIIIIIHH", 0x2C, 0, 0, 0xFFFFFFFF, 0, 0, 0xFFFFFFFF,
                            0xFFFFFFFF, 0, 0xFFFFFFFF, sk_off, 0xFFFFFFFF, 0, 0, 0, 0, 0, len(name), 0) + name
    sk = b"sk" + struct.pack("<HIIII", 0, sk_off, sk_off, 1, len(sd)) + sd
    cells = cell(nk) + cell(sk)
    free = 4096 - 32 - len(cells)
    hbin = b"hbin" + struct.pack("<IIQQI", 0, 4096, 0, 0, 0) + cells + struct.pack("<i", free) + b"\0" * (free - 4)
    base = bytearray(4096)
    struct.pack_into("<4sIIQIIIIIII", base, 0, b"regf", 1, 1, 0, 1, 3, 0, 1, nk_off, 4096, 1)
    x = 0
    for i in range(127):
        x ^= struct.unpack_from("<I", base, i * 4)[0]
    struct.pack_into("<I", base, 508, {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(x, x))
    return bytes(base) + hbin
write("inventory_hive", "empty", empty_hive())
import shutil, subprocess
if shutil.which("hivexregedit"):
    with tempfile.TemporaryDirectory() as d:
        hive, reg = os.path.join(d, "SOFTWARE"), os.path.join(d, "s.reg")
        with open(hive, "wb") as f:
            f.write(empty_hive())
        keys = ["Microsoft", r"Microsoft\Windows", r"Microsoft\Windows\CurrentVersion",
                r"Microsoft\Windows\CurrentVersion\Uninstall"]
        text = "Windows Registry Editor Version 5.00\n\n" + "".join(
            f"[HKEY_LOCAL_MACHINE\\SOFTWARE\\{k}]\n\n" for k in keys)
        text += ("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\KES]\n"
                 '"DisplayName"="Kaspersky Endpoint Security for Windows"\n"DisplayVersion"="12.3.0.493"\n'
                 '"Publisher"="AO Kaspersky Lab"\n\n')
        with open(reg, "w") as f:
            f.write(text)
        subprocess.run(["hivexregedit", "--merge", hive, "--prefix", "HKEY_LOCAL_MACHINE\\SOFTWARE", reg], check=True)
        with open(hive, "rb") as f:
            write("inventory_hive", "software", f.read())

# WWPack32 streams for unpack_wwpack (which builds the file around them): flag bits most
# significant first in little-endian dwords, each dword placed as soon as the previous one
# is used up, literal bytes between them where the reader has got to.
def ww_stream(steps):
    out, words, word, nbits = bytearray(4), [0], 0, 0
    for kind, value in steps:
        if kind == "lit":
            out.append(value)
            continue
        for c in value:
            word |= (c == "1") << (31 - nbits)
            nbits += 1
            if nbits == 32:
                struct.pack_into("<I", out, words[-1], word)
                words.append(len(out))
                out += bytes(4)
                word, nbits = 0, 0
    struct.pack_into("<I", out, words[-1], word)
    return bytes(out)

END = ("bits", "1" "11" "11" "111111111")
lits = [x for b in b"WWPack seed " for x in (("bits", "0"), ("lit", b))]
write("unpack_wwpack", "literals", ww_stream(lits + [END]))
write("unpack_wwpack", "short-matches", ww_stream(lits + [
    ("bits", "1" "11" "00" "01011"),            # 2 bytes from 12 back
    ("bits", "1" "01" "000" "00111"),           # 3 bytes, 3-bit class 0: 8 back
    ("bits", "1" "10" "011" "0" "00000011"),    # 4 bytes, class 3: 228 back (too far)
    END]))
write("unpack_wwpack", "long-match", ww_stream(lits + [
    ("bits", "1" "00" "000" "01011" "1" "001"),  # code 0: 12 back, length 7
    ("bits", "1" "00" "000" "00000" "0" "1"),    # code 0: 1 back, length 6
    ("bits", "1" "00" "000" "00000" "1" "000" "0000" "0" "0" "0" "00000001000000"),  # length 64
    END]))

# Petite 2.2 streams for unpack_petite: three bytes of unpacked size, then the stream: a
# literal byte, then flag bits most significant first from bytes fetched when the first of
# their bits is needed; literals XORed with the low byte of the count still to unpack.
class PetiteStream:
    def __init__(self, size, first):
        self.size, self.at, self.out = size, 1, bytearray([first])
        self.byte_at, self.nbits = None, 8

    def bit(self, b):
        if self.nbits == 8:
            self.byte_at, self.nbits = len(self.out), 0
            self.out.append(0)
        self.out[self.byte_at] |= b << (7 - self.nbits)
        self.nbits += 1

    def gamma(self, v):
        digits = bin(v)[3:]
        for i, d in enumerate(digits):
            self.bit(int(d))
            self.bit(int(i + 1 < len(digits)))

    def literal(self, b):
        self.bit(0)
        self.out.append(b ^ ((self.size - self.at) & 0xff))
        self.at += 1

    def match(self, dist, length, low_bits=5):
        self.bit(1)
        v = dist - 1
        self.gamma((v >> low_bits) + 3)
        for i in reversed(range(low_bits)):
            self.bit((v >> i) & 1)
        length -= 1  # a near new distance adds 1
        if length <= 3:
            self.bit(length >> 1), self.bit(length & 1)
        else:
            self.bit(0), self.bit(0)
            self.gamma(length - 2)
        self.at += length + 1

    def seed(self):
        return self.size.to_bytes(3, "little") + bytes(self.out)

text = b"Petite seed!"
s = PetiteStream(len(text), text[0])
for b in text[1:]:
    s.literal(b)
write("unpack_petite", "literals", s.seed())
s = PetiteStream(24, text[0])
for b in text[1:]:
    s.literal(b)
s.match(12, 12)
write("unpack_petite", "match", s.seed())
s = PetiteStream(0x10000, ord("a"))  # 7 low distance bits from 64 KiB on
s.match(1, 0xffff, low_bits=7)
write("unpack_petite", "large", s.seed())

# A small ISO 9660 image for unpack_iso9660: a primary tree with a file, a directory holding
# another file (Rock Ridge names in both), a Joliet tree over the same files, and the terminator.
def iso_record(lba, size, flags, name, system_use=b""):
    body = bytes(1) + struct.pack("<I", lba) + struct.pack(">I", lba)
    body += struct.pack("<I", size) + struct.pack(">I", size) + bytes(7)
    body += struct.pack("<BBB", flags, 0, 0) + struct.pack("<H", 1) + struct.pack(">H", 1)
    body += bytes([len(name)]) + name + (b"\0" if len(name) % 2 == 0 else b"") + system_use
    return bytes([len(body) + 1]) + body

def iso_dir(records):
    return b"".join(records).ljust(2048, b"\0")

def iso_volume(kind, root_lba, escape=b""):
    d = bytearray(2048)
    d[0], d[1:6], d[6] = kind, b"CD001", 1
    d[88:88 + len(escape)] = escape
    struct.pack_into("<H", d, 128, 2048)
    root = iso_record(root_lba, 2048, 2, b"\0")
    d[156:156 + len(root)] = root
    return bytes(d)

def rr(name):
    return b"NM" + bytes([5 + len(name), 1, 0]) + name

def joliet(name):
    return name.encode("utf-16-be")

ISO_TEXT = b"hello from an iso image\n"
iso = bytes(16 * 2048)
iso += iso_volume(1, 19) + iso_volume(2, 21, b"%/E") + iso_volume(255, 0)[:7].ljust(2048, b"\0")
iso += iso_dir([iso_record(19, 2048, 2, b"\0"), iso_record(19, 2048, 2, b"\1"),
                iso_record(23, len(ISO_TEXT), 0, b"README.TXT;1", rr(b"readme.txt")),
                iso_record(20, 2048, 2, b"SUB", rr(b"sub"))])
iso += iso_dir([iso_record(20, 2048, 2, b"\0"), iso_record(19, 2048, 2, b"\1"),
                iso_record(24, 2 * len(ISO_TEXT), 0x80, b"PART.BIN;1"),
                iso_record(23, len(ISO_TEXT), 0, b"PART.BIN;1")])
iso += iso_dir([iso_record(21, 2048, 2, b"\0"), iso_record(21, 2048, 2, b"\1"),
                iso_record(23, len(ISO_TEXT), 0, joliet("readme.txt;1")),
                iso_record(22, 2048, 2, joliet("sub"))])
iso += iso_dir([iso_record(22, 2048, 2, b"\0"), iso_record(21, 2048, 2, b"\1"),
                iso_record(24, len(ISO_TEXT), 0, joliet("part.bin;1"))])
iso += ISO_TEXT.ljust(2048, b"\0") + (ISO_TEXT * 2).ljust(2048, b"\0")
write("unpack_iso9660", "joliet-rockridge", iso)

# MS-OVBA compressed data for vba_source: the specification's example (3.2.1).
write("vba_source", "ovba-example", bytes.fromhex(
    "012fb000236161616263646582660070616768696a013808616b6c00306d6e6f70067102700410727374"
    "7576107778797a003c"))

# A OneNote section for unpack_onenote: the file GUID, then two FileDataStoreObjects.
def one_object(data):
    header = bytes.fromhex("e716e3bd65261145a4c48d4d0b7a9eac")
    footer = bytes.fromhex("22a7fb71790f0b4abb13899256426b24")
    return header + struct.pack("<QIQ", len(data), 0, 0) + data + bytes(-len(data) % 8) + footer
write("unpack_onenote", "two-attachments", bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3")
      + bytes(64) + one_object(b"hello attachment\n") + one_object(b"MZ" + bytes(62)))
