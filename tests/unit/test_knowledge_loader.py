"""The knowledge base loads, and each kind of broken file fails with entry and field named."""

import copy

import pytest
import yaml

from bot.knowledge.loader import DEFAULT_PATH, MAX_ANSWER_WORDS, KnowledgeBaseError, load, parse


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def broken(raw, change):
    data = copy.deepcopy(raw)
    change(data)
    return data


def test_the_shipped_file_is_valid():
    kb = load()
    assert len(kb.gemeenten) == 19
    assert len(kb.areas) == 20
    # The inhabitants answer says "ongeveer 1,2 miljoen" (S16): the table must agree.
    assert round(sum(a.inhabitants for a in kb.areas) / 1e6, 1) == 1.2
    for answer in kb.answers.values():
        assert len(answer.text.split()) <= MAX_ANSWER_WORDS, answer.key
        assert answer.sources and answer.checked
        assert 0 < len(answer.followups) <= 3, answer.key


def test_unknown_facts_are_marked(raw):
    kb = parse(raw)
    for key in ("deadline", "bedrag_gemeente", "aanvraagprocedure", "verantwoording", "contact"):
        assert kb.answers[key].known is False


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["answers"][0].pop("sources"), "answers[wat_is]: field 'sources' is missing"),
        (lambda d: d["answers"][0].update(sources=["S99"]), "unknown source 'S99'"),
        (lambda d: d["answers"][0].update(text="woord " * 81), "answers[wat_is]: field 'text' has 81 words"),
        (lambda d: d["answers"][0].update(text="<script>x</script>"), "must not contain HTML"),
        (lambda d: d["answers"][0].update(checked="gisteren"), "answers[wat_is]: field 'checked' must be a date"),
        (lambda d: d["answers"][0].update(intent="wat is"), "field 'intent' must look like faq_<name>"),
        (lambda d: d["answers"][1].update(intent="faq_wat_is"), "faq_wat_is is also used by wat_is"),
        (lambda d: d["answers"][1].update(key="wat_is"), "field 'key' is used twice"),
        (lambda d: d["answers"][0].update(followups=["bestaat_niet"]), "unknown answer 'bestaat_niet'"),
        (lambda d: d["answers"][0].update(known="ja"), "field 'known' must be true or false"),
        (
            lambda d: d["sources"]["S1"].update(url="http://onveilig.example"),
            "sources[S1]: field 'url' must be an https URL",
        ),
        (lambda d: d["gemeenten"][0]["areas"][0].update(inhabitants=-5), "field 'inhabitants' must be positive"),
        (
            lambda d: d["gemeenten"][1]["areas"][0].pop("inhabitants"),
            "gemeenten[Arnhem].areas[Arnhem-Oost]: field 'inhabitants' is missing",
        ),
        (lambda d: d["gemeenten"][2].update(name="Amsterdam"), "name 'Amsterdam' is used twice"),
        (
            lambda d: d["examples"][0].update(area="Almere-Haven"),
            "examples[Almere-Haven]: field 'area' is not one of the areas",
        ),
        (lambda d: d["themes"][0].update(aliases="geld"), "field 'aliases' must be a list"),
        (lambda d: d.pop("answers"), "answers: section is missing or empty"),
        (lambda d: d.update(version=2), "version: must be 1"),
    ],
)
def test_broken_files_name_entry_and_field(raw, change, message):
    with pytest.raises(KnowledgeBaseError) as err:
        parse(broken(raw, change))
    assert message in str(err.value)


def test_not_yaml(tmp_path):
    path = tmp_path / "kb.yml"
    path.write_text("answers: [\n  - key: x\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="not valid YAML"):
        load(path)


def test_not_a_mapping():
    with pytest.raises(KnowledgeBaseError, match="must be a YAML mapping"):
        parse(["a", "b"])
