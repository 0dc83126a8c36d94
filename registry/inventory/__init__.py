"""What a layer ships, read from its zip: the Python distributions (*.dist-info) and Node.js
packages (package.json under node_modules) it installs, and a CycloneDX software bill of materials
of them.

packages.py   finding and reading the packages in an archive's final tree
cyclonedx.py  the bill of materials as a CycloneDX 1.5 JSON document

Used by the server's console and by the client (`strata layers sbom`), so it needs nothing but
the archive reader.
"""
