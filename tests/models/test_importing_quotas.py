"""Imported responses count toward the quotas their answers belong to (and toward the wave's
cap), in the import's transaction; past a limit they are stored anyway and the import says
by how much. On SQLite and PostgreSQL."""
import pytest
from sqlalchemy.orm import Session

from models.importing import import_file, imported_quota_counts, plan_import, read_table
from models.questionnaire import parse_questionnaire
from models.storage import create_wave, find_wave, make_engine, register_questionnaire
from models.storage.quotas import QuotaOverrun, quota_status, set_wave_limits

from .test_importing import QUESTIONNAIRE, write

QUOTAS = QUESTIONNAIRE + """\
quotas:
  - {id: store, when: "channel == 'store'", limit: 2, text: Enough store customers}
  - {id: unhappy, when: "sat <= 2", limit: 10, text: Enough}
  - {id: price, when: "'price' in why", limit: 5, text: Enough}
"""

# Rows 1-3 are complete store customers (row 2 in Chinese labels); row 4 is a store customer
# who did not finish (quotas count completions); row 5 chose price in Chinese.
FILE = """\
sat,rec,channel,why,status
5,4,store,price;staff,complete
1,1,门店,,complete
2,3,store,price,complete
5,5,store,,partial
4,4,web,价格,complete
"""


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    with Session(engine) as session:
        survey = register_questionnaire(session, parse_questionnaire(QUOTAS, "quotas.yaml"))
        create_wave(session, survey, "W1")
        session.commit()
    yield engine
    engine.dispose()


def counts(engine) -> dict:
    with Session(engine) as session:
        return {s.id: (s.count, s.limit) for s in quota_status(session, find_wave(session, "imp", "W1"))}


def test_imported_completions_count_in_their_quotas_and_overruns_are_reported(engine, tmp_path):
    path = write(tmp_path, "quotas.csv", FILE)
    result = import_file(engine, "imp", "W1", path)
    assert result.stored == 5
    assert counts(engine) == {"store": (3, 2), "unhappy": (2, 10), "price": (3, 5)}
    assert result.over_quota == (QuotaOverrun("store", 3, 2),)
    assert result.summary().splitlines()[1] == (
        "quotas.csv: quota store now over by 1 (3 of 2) (imported responses are stored and counted even past a limit)")
    # Re-imported rows are not stored again, so not counted again.
    again = import_file(engine, "imp", "W1", path)
    assert (again.stored, again.over_quota) == (0, ())
    assert counts(engine) == {"store": (3, 2), "unhappy": (2, 10), "price": (3, 5)}
    more = import_file(engine, "imp", "W1", write(tmp_path, "more.csv", "sat,channel\n3,store\n"))
    assert more.over_quota == (QuotaOverrun("store", 4, 2),)
    assert counts(engine)["store"] == (4, 2)


def test_imports_fill_the_waves_cap_and_close_it(engine, tmp_path):
    with Session(engine) as session:
        set_wave_limits(session, find_wave(session, "imp", "W1"), max_completes=3)
        session.commit()
    first = import_file(engine, "imp", "W1", write(tmp_path, "a.csv", "sat,channel\n3,web\n4,web\n"))
    assert first.over_quota == () and counts(engine)["*"] == (2, 3)
    second = import_file(engine, "imp", "W1", write(tmp_path, "b.csv", "sat,channel,status\n3,web,complete\n"
                                                                    "4,web,complete\n5,web,partial\n"))
    assert second.over_quota == (QuotaOverrun("*", 4, 3),)
    assert str(second.over_quota[0]) == "the wave's cap on completions now over by 1 (4 of 3)"
    with Session(engine) as session:
        assert find_wave(session, "imp", "W1").closed


@pytest.mark.parametrize("quotas, expected", [
    ('  - {id: price, when: "\'price\' in why", limit: 5, text: Enough}\n', {"price": 2}),  # one column of lists
    ('  - {id: north, when: "hidden.region == \'north\'", limit: 5, text: Enough}\n'
     '  - {id: all, when: "not (hidden.region == \'north\')", limit: 5, text: Enough}\n', {"all": 4}),  # no answers read
    ('  - {id: quiet, when: "visits <= 1 or sat == 5", limit: 5, text: Enough}\n', {"quiet": 3}),  # numbers, missing
])
def test_rows_are_counted_as_the_pages_would_read_them(tmp_path, quotas, expected):
    text = QUESTIONNAIRE + "hidden:\n  - {id: region, values: [north, south]}\nquotas:\n" + quotas
    questionnaire = parse_questionnaire(text, "quotas.yaml")
    path = write(tmp_path, "rows.csv", "sat,why,visits,status\n5,price;staff,,complete\n4,价格,1,complete\n"
                                       "3,staff,0,complete\n2,,7,complete\n5,price,,partial\n")
    plan = plan_import(read_table(path), questionnaire)
    assert imported_quota_counts(questionnaire, plan.answers, plan.statuses) == expected
