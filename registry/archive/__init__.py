"""Safe reading of untrusted zip archives, one job a module.

limits.py   the caps archives are held to (ZipLimits), the node budget, enforce_limits
entries.py  what a central directory record and a checked archive are (ZipEntry, ZipSummary)
names.py    entry names and symlink targets: normalised, refused, followed inside the root
tree.py     the overlay rules (Node, Tree) one archive and a stack of layers share
reader.py   one open archive: local-header checks, its layout (Archive, Layout, check_zip)
central.py  the central directory: end record, zip64, each entry's record checked
positional.py  reads at offsets from bytes, a path or a file, shared between threads
inflate.py  entry data: stored, deflate and Deflate64, held to the declared size and CRC-32
"""
