"""FormData and UploadFile on their own (lamina._formdata), without a request."""

from __future__ import annotations

import io
import os

import anyio
import pytest
from lamina._formdata import FormData, UploadFile


def test_upload_closed_files_get_removed_from_disk() -> None:
    async def main() -> None:
        upload = UploadFile(filename="x", spool_size=0)
        await upload.write(b"abc")
        assert not upload.in_memory
        fileno = upload.file.fileno()
        await upload.close()
        await upload.close()  # idempotent
        with pytest.raises(OSError):
            os.fstat(fileno)

    anyio.run(main)


def test_upload_file_wraps_a_given_file() -> None:
    async def main() -> None:
        upload = UploadFile(
            io.BytesIO(b"hello"), filename="h.txt", headers={"content-type": "text/plain"}
        )
        assert upload.content_type == "text/plain"
        assert await upload.read() == b"hello"

    anyio.run(main)


def test_formdata_mapping_api() -> None:
    form = FormData([("a", "1"), ("b", "2"), ("a", "3")])
    assert form["a"] == "3"
    assert form.getlist("a") == ["1", "3"]
    assert list(form.keys()) == ["a", "b"]
    assert form.multi_items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert form == FormData([("a", "1"), ("b", "2"), ("a", "3")])
    assert form != FormData([("a", "3"), ("b", "2"), ("a", "1")])
    assert FormData({"x": "y"})["x"] == "y"
    assert form.files() == []
