"""Build's upload: a file over the cap is refused before its bytes are read."""

from streamlit.runtime.uploaded_file_manager import UploadedFile

from explorer.limits import MAX_UPLOAD_BYTES as UPLOAD_LIMIT
from tests.app.pages import open_page


def test_oversized_upload_is_refused_before_its_bytes_are_read(monkeypatch) -> None:
    read = []
    original = UploadedFile.getvalue

    def getvalue(self):
        read.append(self.name)
        return original(self)

    monkeypatch.setattr(UploadedFile, "getvalue", getvalue)
    at = open_page("build")
    at.radio(key="build_mode").set_value("Upload").run()
    at.file_uploader(key="upload").upload("huge.csv", b"1," * (UPLOAD_LIMIT // 2 + 1)).run()
    assert not at.exception
    assert any("huge.csv" in e.value and f"files up to {UPLOAD_LIMIT:,} bytes" in e.value
               for e in at.error)
    assert "huge.csv" not in read
    at.file_uploader(key="upload").upload("small.csv", b"1,0\n0,1\n").run()
    assert "small.csv" in read and not at.error

