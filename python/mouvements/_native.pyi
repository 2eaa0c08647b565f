# The compiled module; the public API, documented, is in `mouvements/__init__.py`.
from typing import Any, Callable, Mapping, Optional, Sequence, Union

__version__: str
MAX_ROWS: int

def generate(
    base: str,
    rows: Union[int, str],
    shards: int,
    seed: Optional[int],
    month: Optional[str],
    start: Optional[str],
    end: Optional[str],
    first_id: Optional[int],
    layers: Optional[str],
    format: Optional[str],
    anomaly_rate: Optional[float],
    labels: Optional[bool],
    changes: float,
    late_rate: float,
    duplicate_rate: float,
    mode: str,
    run_id: Optional[str],
    task_index: int,
    task_count: int,
    threads: Optional[int],
    storage_options: Optional[Mapping[str, Any]],
    progress: Optional[Callable[[int, int], None]],
) -> dict[str, Any]: ...

class Report:
    def passed(self) -> bool: ...
    def fields(self) -> dict[str, Any]: ...
    def text(self) -> str: ...
    def html(self) -> str: ...

def verify(
    base: str,
    stats: bool,
    sample: int,
    html: Optional[str],
    threads: Optional[int],
    storage_options: Optional[Mapping[str, Any]],
) -> Report: ...
def guide(base: str, storage_options: Optional[Mapping[str, Any]]) -> str: ...
def cli(argv: Sequence[str]) -> int: ...
def parse_rows(text: str) -> int: ...

class RowStream:
    num_rows: int
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...
    def __arrow_c_schema__(self) -> object: ...
    def labels_csv(self) -> bytes: ...

def rows(
    rows: Union[int, str],
    seed: int,
    month: Optional[str],
    start: Optional[str],
    end: Optional[str],
    first_id: int,
    anomaly_rate: float,
    start_row: int,
    stop_row: Optional[int],
    batch_rows: int,
) -> RowStream: ...
