"""The intent classifier of config.yml: a linear SVM on TF-IDF word and character n-grams.

Why not DIET's intent head: on this data (54 intents, several pairs that differ by one cue such
as "ons/onze" or "per jaar") the 5-fold cross-validation of DIET was 0.911-0.92, of this linear
model 0.936, with the held-out sets as high as DIET's (docs/nlu-report/cross-validation/). It is
also deterministic: the same inputs give the same weights, where two DIET trainings differed by
about 0.01. DIET stays in the pipeline for the entities.

Confidences are a softmax over the SVM's decision values times ``temperature``; 6 is the value
with the lowest log loss on the cross-validation's held-out folds, so the FallbackClassifier's
threshold keeps its meaning (about 1 % of right answers under 0.45, as with DIET).

The trained model is stored as plain data (vocabularies as JSON, weights as .npy without
pickle): loading a model runs no code from it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

# The two feature sets the cross-validation measured: word unigrams and bigrams (a bigram seen
# once teaches nothing), and character 2-4-grams within words (typos, compounds, inflections).
# Sublinear term frequency: a word said twice is not twice the evidence.
VECTORIZERS = {
    "words": {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2},
    "chars": {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 1},
}


# Rasa's training cache (.rasa/cache) knows a component by its class name and config, not by its
# code: with this file's hash in the config, an edited classifier is trained again instead of
# coming from the cache.
CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _vectorizer(kind: str, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(lowercase=True, sublinear_tf=True, vocabulary=vocabulary, **VECTORIZERS[kind])


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # C: the SVM's regularisation (the cross-validation: 1.0 best of 0.3, 0.5 and 1.0).
        return {"C": 1.0, "temperature": 6.0, "ranking_length": 10, "random_seed": 42, "code_version": CODE_VERSION}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vectorizers: dict[str, TfidfVectorizer] | None = None,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
        classes: list[str] | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.vectorizers = vectorizers or {}
        self.weights = weights
        self.bias = bias
        self.classes = classes or []
        if self.weights is not None:
            self._prepare()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _features(self, texts: list[str]) -> Any:
        """scikit-learn's own transform: the reference ``scores`` is tested against."""
        return hstack([self.vectorizers[kind].transform(texts) for kind in VECTORIZERS]).tocsr()

    def _prepare(self) -> None:
        """What ``scores`` needs, once: each vectorizer's analyzer, vocabulary, idf and column
        offset, and the weights one row per feature."""
        self._fast: list[tuple[Any, dict[str, int], list[float], int]] = []
        offset = 0
        for kind in VECTORIZERS:
            vectorizer = self.vectorizers[kind]
            analyzer = vectorizer.build_analyzer()
            self._fast.append((analyzer, vectorizer.vocabulary_, vectorizer.idf_.tolist(), offset))
            offset += len(vectorizer.vocabulary_)
        assert self.weights is not None
        self._rows = np.ascontiguousarray(self.weights.T)
        # One copy of the weights (about 10 MB a worker): ``weights`` becomes a view of the rows.
        self.weights = self._rows.T

    def scores(self, text: str) -> np.ndarray:
        """The SVM's decision values for one text, computed as scikit-learn's TF-IDF transform and
        the dot product do (sublinear counts times idf, each vectorizer's part L2-normalised),
        over the few features the text has: scikit-learn's transform checks and builds sparse
        matrices around the same sums, 8 % of a Rasa worker's time per turn (py-spy)."""
        columns: list[int] = []
        values: list[float] = []
        for analyzer, vocabulary, idf, offset in self._fast:
            counts = Counter(i for i in map(vocabulary.get, analyzer(text)) if i is not None)
            part = [(1.0 + math.log(n)) * idf[i] for i, n in counts.items()]
            norm = math.sqrt(sum(v * v for v in part))
            if norm > 0:
                columns += [offset + i for i in counts]
                values += [v / norm for v in part]
        assert self.bias is not None
        if not columns:
            return self.bias.copy()
        return np.asarray(values) @ self._rows[columns] + self.bias

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        texts = [e.get(TEXT) for e in examples]
        labels = [e.get(INTENT) for e in examples]
        self.vectorizers = {kind: _vectorizer(kind) for kind in VECTORIZERS}
        features = hstack([self.vectorizers[kind].fit_transform(texts) for kind in VECTORIZERS]).tocsr()
        svm = LinearSVC(C=self.config["C"], random_state=self.config["random_seed"], max_iter=10000)
        svm.fit(features, labels)
        self.classes = [str(c) for c in svm.classes_]
        self.weights = svm.coef_.astype(np.float64)
        self.bias = svm.intercept_.astype(np.float64)
        self._prepare()
        self._persist()
        return self._resource

    def _persist(self) -> None:
        assert self.weights is not None and self.bias is not None
        with self._model_storage.write_to(self._resource) as directory:
            meta = {
                "classes": self.classes,
                "vocabularies": {
                    kind: {t: int(i) for t, i in v.vocabulary_.items()} for kind, v in self.vectorizers.items()
                },
            }
            (directory / "linear_intents.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            for kind, vectorizer in self.vectorizers.items():
                np.save(directory / f"idf_{kind}.npy", vectorizer.idf_, allow_pickle=False)
            np.save(directory / "weights.npy", self.weights, allow_pickle=False)
            np.save(directory / "bias.npy", self.bias, allow_pickle=False)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        with model_storage.read_from(resource) as directory:
            return cls._from_directory(config, model_storage, resource, directory)

    @classmethod
    def _from_directory(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, directory: Path
    ) -> LinearIntentClassifier:
        meta = json.loads((directory / "linear_intents.json").read_text(encoding="utf-8"))
        vectorizers = {}
        for kind in VECTORIZERS:
            vectorizer = _vectorizer(kind, vocabulary=meta["vocabularies"][kind])
            vectorizer.idf_ = np.load(directory / f"idf_{kind}.npy", allow_pickle=False)
            vectorizers[kind] = vectorizer
        return cls(
            config,
            model_storage,
            resource,
            vectorizers=vectorizers,
            weights=np.load(directory / "weights.npy", allow_pickle=False),
            bias=np.load(directory / "bias.npy", allow_pickle=False),
            classes=list(meta["classes"]),
        )

    def process(self, messages: list[Message]) -> list[Message]:
        if self.weights is None or not messages:
            return messages
        scores = np.vstack([self.scores(m.get(TEXT) or "") for m in messages])
        probabilities = _softmax(scores * self.config["temperature"])
        length = self.config["ranking_length"]
        for message, row in zip(messages, probabilities, strict=False):
            order = np.argsort(-row, kind="stable")
            ranking = [
                {INTENT_NAME_KEY: self.classes[i], PREDICTED_CONFIDENCE_KEY: float(row[i])}
                for i in (order[:length] if length > 0 else order)
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
