"""The Dutch-English axis of a multilingual encoder, and an embedder that leaves it out.

multilingual-e5-small places a text and its translation close, but not on top of each other: every Dutch vector
shares a component that every English one lacks. On the dev messages whose article exists in both languages,
the message scored its own-language article 0.05 above the translation on average, while the articles competing
for one message differ by 0.01. So a Dutch message about an English-only article lost to loosely related Dutch
articles. Removing that shared component (projecting every vector, query and passage alike, onto the plane
orthogonal to the axis) took the dev messages about English-only articles from 0.60 to 0.73 hit@1 without
moving the others (docs/benchmarks.md).

The axis is the mean difference between the vectors of `PAIRS`, Dutch and English sentences that say the same
thing, written for this purpose (webcare and everyday topics, not taken from any evaluation set). It is a
property of the model, not of a knowledge base, so an incremental index stays consistent: it is computed once per
model and shipped in `kb/calibration/<model>.axis.json`; the projected model's id names it, so an index built
without it is refused.

    >>> import numpy as np
    >>> axis = np.array([1.0, 0.0], np.float32)
    >>> project(np.array([[0.6, 0.8]], np.float32), axis).round(3).tolist()
    [[0.0, 1.0]]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.errors import ConfigError
from kb.models import Embedder, TextKind, file_slug

AXIS_DIR = Path(__file__).resolve().parent / "calibration"

PAIRS: tuple[tuple[str, str], ...] = (
    ("Hoe kan ik mijn maandelijkse gift stopzetten?", "How can I stop my monthly gift?"),
    ("Waar gaat mijn geld naartoe?", "Where does my money go?"),
    ("Ik wil graag vrijwilliger worden.", "I would like to become a volunteer."),
    ("Wanneer krijg ik antwoord op mijn bericht?", "When will I get an answer to my message?"),
    ("Mijn moeder heeft kanker en ik weet niet wat ik moet doen.", "My mother has cancer and I don't know what to do."),
    ("Is het waar dat suiker kanker voedt?", "Is it true that sugar feeds cancer?"),
    ("Krijg je kanker van je mobiele telefoon?", "Do you get cancer from your mobile phone?"),
    ("De dokter zegt dat ik moet stoppen met roken.", "The doctor says I have to stop smoking."),
    ("Waarom is mijn reactie verwijderd?", "Why was my comment removed?"),
    ("Ik heb een klacht over jullie collectant.", "I have a complaint about your collector."),
    ("Kunnen jullie mij medisch advies geven?", "Can you give me medical advice?"),
    ("Mijn vader is vorig jaar overleden aan longkanker.", "My father died of lung cancer last year."),
    ("Ik ben bang dat ik het ook krijg.", "I am afraid that I will get it too."),
    ("Bedankt voor jullie snelle reactie!", "Thanks for your quick reply!"),
    ("Dit is echt onzin, geloof het niet.", "This is really nonsense, don't believe it."),
    ("Mijn zus zweert bij kruidenthee.", "My sister swears by herbal tea."),
    ("Ik heb gelezen dat vaccins gevaarlijk zijn.", "I read that vaccines are dangerous."),
    ("Hoe meld ik me aan voor het bevolkingsonderzoek?", "How do I sign up for the screening programme?"),
    ("Is mijn gift aftrekbaar van de belasting?", "Is my donation deductible from tax?"),
    ("Wat doen jullie met mijn persoonsgegevens?", "What do you do with my personal data?"),
    ("De buurvrouw zegt dat het in de familie zit.", "The neighbour says it runs in the family."),
    ("Ik slaap er al weken slecht van.", "I have been sleeping badly over it for weeks."),
    ("Mag ik tijdens de chemo nog sporten?", "May I still exercise during chemo?"),
    ("Hoeveel procent gaat naar onderzoek?", "What percentage goes to research?"),
    ("Jullie bellen me steeds op, stop daarmee.", "You keep calling me, stop that."),
    ("Ik wil mijn verhaal delen op jullie website.", "I want to share my story on your website."),
    ("Waar vind ik lotgenoten in de buurt?", "Where can I find fellow patients nearby?"),
    ("Helpt een glas rode wijn per dag?", "Does a glass of red wine a day help?"),
    ("Dat heeft mijn huisarts nooit gezegd.", "My GP never said that."),
    ("Het staat overal op Facebook.", "It is all over Facebook."),
    ("Kan ik iets nalaten aan jullie stichting?", "Can I leave something to your foundation?"),
    ("Ik ben net met pensioen en heb veel tijd.", "I have just retired and have a lot of time."),
    ("Mijn kind moet binnenkort een prik halen.", "My child has to get a jab soon."),
    ("Is dat wetenschappelijk bewezen?", "Has that been scientifically proven?"),
    ("Ze verkopen het in de drogist als wondermiddel.", "They sell it at the chemist as a miracle cure."),
    ("We zijn allemaal erg geschrokken.", "We were all very shocked."),
    ("Het is zaterdagavond en ik durf niemand te bellen.", "It is Saturday evening and I don't dare call anyone."),
    ("Ik snap niet waarom niemand reageert.", "I don't understand why nobody responds."),
    ("Hoe lang duurt het voordat ik iets hoor?", "How long does it take before I hear something?"),
    ("Zijn zonnebanken slecht voor je huid?", "Are sunbeds bad for your skin?"),
    ("Mijn oom eet alleen nog maar rauwe groenten.", "My uncle only eats raw vegetables now."),
    ("De uitslag komt volgende week.", "The result comes next week."),
    ("Wij zijn heel dankbaar voor alle steun.", "We are very grateful for all the support."),
    ("Dit bericht is bedoeld voor de webcare.", "This message is meant for the webcare team."),
    ("Kunnen jullie dit even checken?", "Could you check this for me?"),
    ("Volgens mij klopt dat niet helemaal.", "I don't think that is entirely right."),
    ("Mijn collega heeft het ook geprobeerd.", "My colleague tried it too."),
    ("Ik wil officieel een klacht indienen.", "I want to file an official complaint."),
    ("Waarom krijg ik nog steeds post van jullie?", "Why do I still get mail from you?"),
    ("Het nieuws maakt me ongerust.", "The news makes me worried."),
)


def project(vectors: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """`vectors` without their component along `axis` (a unit vector), normalised again.

    Row by row with elementwise sums rather than matrix products: BLAS rounds a batch differently from one row,
    and a text's vector must not depend on the texts embedded beside it."""
    v = vectors.astype(np.float64)
    out = v - (v * axis).sum(axis=1, keepdims=True) * axis
    return (out / np.clip(np.sqrt((out * out).sum(axis=1, keepdims=True)), 1e-12, None)).astype(np.float32)


def compute_axis(embedder: Embedder) -> np.ndarray:
    """The unit mean difference between the Dutch and English vectors of `PAIRS` (embedded as queries)."""
    dutch = embedder.embed([nl for nl, _ in PAIRS], kind="query")
    english = embedder.embed([en for _, en in PAIRS], kind="query")
    axis = (np.asarray(dutch) - np.asarray(english)).mean(axis=0)
    return (axis / np.linalg.norm(axis)).astype(np.float32)


def axis_file(model_id: str) -> Path:
    return AXIS_DIR / f"{file_slug(model_id)}.axis.json"


def load_axis(model_id: str) -> np.ndarray | None:
    """The shipped axis of `model_id`, or None where the model has none (it is then used as it is)."""
    path = axis_file(model_id)
    if not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("model_id") != model_id:
        raise ConfigError(f"language axis: {path} belongs to {raw.get('model_id')}, not {model_id}")
    return np.asarray(raw["axis"], dtype=np.float32)


def axis_json(model_id: str, axis: np.ndarray) -> str:
    return json.dumps({"model_id": model_id, "pairs": len(PAIRS), "axis": [round(float(v), 7) for v in axis]}) + "\n"


class AxisProjected:
    """An embedder whose vectors leave out the Dutch-English axis; its model id says so."""

    def __init__(self, inner: Embedder, axis: np.ndarray) -> None:
        self.inner = inner
        self.axis = axis
        self.model_id = f"{inner.model_id}+nl-en-axis-{hashlib.sha256(axis.tobytes()).hexdigest()[:8]}"
        self.dim = inner.dim

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        vectors = self.inner.embed(texts, kind=kind)
        return project(np.asarray(vectors, dtype=np.float32), self.axis) if len(texts) else vectors

    def __getattr__(self, name: str) -> object:  # threads, batch_threads, ... of the engine underneath
        return getattr(self.inner, name)
