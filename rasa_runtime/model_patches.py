"""Rasa runtime patches for the trained model: loading it for serving, running its graph, and
the fallback for messages without a known word.

Installed by ``serve.py`` before Rasa starts; each has a test against the real part
(rasa_runtime/tests/, run from tests/unit/test_rasa_runtime.py).

- An intent classifier gives some intent to anything, gibberish too ("blorp fnerk" came out of
  DIET as ``goodbye``), and a model trained on many short and informal phrasings does so with
  confidence above the fallback threshold. ``install_unknown_words_fallback`` makes a message ``nlu_fallback`` (the
  "kun je het anders zeggen?" path with the knowledge-base search) when none of its words occurs
  in the training data: the word-level ``CountVectorsFeaturizer``'s vocabulary (lemmas) decides.
  Not when the message has an entity (a place name from the lookup tables) or could be a
  verification code (8 characters of the code alphabet, ``bot/status/verification.py``), and
  only words of three letters or more count ("blubber de blub" is gibberish; numbers and
  aanvraagnummers are not words).
- Rasa runs its model graph (the NLU pipeline once and the policies twice a turn) through
  dask's scheduler, and first works out again which nodes the targets need, walking the schema
  recursively: 5 % of Rasa's time at 50 users with nothing to schedule in parallel.
  ``install_sequential_graph_runner`` works the order out once per target list and calls the
  nodes in it, with dask's conventions for inputs and errors.
- Loading a trained DIET model, Rasa first *trains it for one step* on an example, only to
  create its variables, and then overwrites them with the trained weights
  (``RasaModel.load``). That step traces TensorFlow's whole training graph (gradients, Adam),
  which stays in memory for the life of the process: about 30 of Rasa's 45 s to start and
  570 MB of its 1.4 GB, for nothing a served model uses. ``install_fast_model_load`` creates the
  variables with one prediction on the same example, restores the trained weights into them
  (refusing to serve if any variable was left out of the checkpoint), and computes what the
  prediction precomputes (the label embeddings) again from the restored weights. The served
  model answers exactly as Rasa's own load does: a test compares every intent ranking and
  entity on the held-out sets. Fine-tuning (``--finetune``) keeps Rasa's own load.
- Each DIET prediction goes through TensorFlow's ``tf.function`` dispatch: it checks the inputs
  against the signature, converts them one by one and looks the traced graph up again, about
  a third of the prediction's time on top of running the graph (py-spy, one user: 8 % of
  Rasa's turn). The graph is traced once for one signature, so ``install_direct_predict`` takes
  that traced (concrete) function once and calls it with the converted inputs. Inputs that do
  not fit the signature go the usual way (which would raise); the graph, and so every output,
  is the same: the fast-load test compares all held-out parses.
- Before DIET sees a message, Rasa joins the sparse features of the four featurisers: it
  deep-copies the first (matrix included) and then stacks the others onto it one by one, a
  new matrix each time (15 % of a parse, py-spy). ``install_one_step_feature_join`` stacks
  them in one ``hstack``: the same entries in the same order, the same types, no copy.

Rasa's and TensorFlow's names replaced or used here (rasa_runtime/versions.py refuses other
versions): ``DaskGraphRunner.run``, ``._graph_schema``, ``._instantiated_nodes``;
``RasaModel.load``, ``._rasa_predict``, ``._tf_predict_step``, ``._run_eagerly``, ``._training``,
``._empty_lists_to_none_in_dict``; ``Message._combine_features``; ``CountVectorsFeaturizer.process``,
``._get_processed_message_tokens_by_attribute``; ``FallbackClassifier._should_fallback``;
TensorFlow's ``convert_to_eager_tensor``, ``context.context`` and ``ConcreteFunction._call_flat``.
"""

from __future__ import annotations


def install_sequential_graph_runner() -> None:
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    def plan(self, targets):
        """The nodes the targets need, each after its inputs; worked out once per target list
        (Rasa walks the schema again on every run)."""
        plans = self.__dict__.setdefault("_kw_plans", {})
        key = tuple(targets)
        if key not in plans:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            order, done = [], set()

            def visit(name):
                if name in done or name not in nodes:
                    return
                done.add(name)
                for need in nodes[name].needs.values():
                    visit(need)
                order.append((name, tuple(nodes[name].needs.values())))

            for name in nodes:
                visit(name)
            plans[key] = order
        return plans[key]

    def run(self, inputs=None, targets=None):
        run_targets = targets if targets else self._graph_schema.target_names
        order = plan(self, run_targets)
        # As dask does: an input is the pair (name, value), a need that nothing provides is
        # passed as its name (the node then complains), and an input may not shadow a node.
        values = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and any(value == node for node, _ in order):
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of "
                    f"the input names passed to the `run` method are the same as node names "
                    f"in the graph schema."
                )
            values[name] = (name, value)
        try:
            for name, needs in order:
                if name in values:
                    continue  # an input given for a node replaces it, as in dask
                values[name] = self._instantiated_nodes[name](*(values.get(n, n) for n in needs))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(values[target] for target in run_targets)

    DaskGraphRunner.run = run


def install_fast_model_load() -> None:
    from rasa.utils import train_utils
    from rasa.utils.tensorflow.models import RasaModel

    plain = RasaModel.load.__func__

    def load(cls, model_file_name, model_data_example, predict_data_example=None, finetune_mode=False, *args, **kwargs):
        if finetune_mode or not predict_data_example:
            return plain(cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs)
        model = cls(*args, **kwargs)
        generator, _ = train_utils.create_data_generators(
            model_data=predict_data_example, batch_sizes=1, epochs=1, shuffle=False
        )
        model.predict_step(next(iter(generator))[0])  # eager: creates the variables
        status = model.load_weights(model_file_name)
        # Every variable the prediction uses must come from the checkpoint; the optimizer's
        # state in it is what training left and is not needed.
        status.assert_existing_objects_matched().expect_partial()
        model.prepared_for_prediction = False  # label embeddings again, now from trained weights
        model.run_inference(predict_data_example)  # traces the prediction graph, as Rasa does
        return model

    RasaModel.load = classmethod(load)


def install_direct_predict() -> None:
    import tensorflow as tf
    from rasa.utils.tensorflow import models
    from tensorflow.python.eager import context
    from tensorflow.python.framework.constant_op import convert_to_eager_tensor

    plain = models.RasaModel._rasa_predict

    def to_tensor(value, dtype, ctx):
        # What tf.convert_to_tensor(value, dtype_hint=dtype) does for an array, without its
        # dispatch and registry look-ups (61 inputs a prediction): the hinted type if the
        # value converts to it, else the value's own.
        try:
            return convert_to_eager_tensor(value, ctx, dtype)
        except (TypeError, ValueError):
            return convert_to_eager_tensor(value, ctx)

    def direct(self):
        """The traced graph and its input specs, once Rasa's own path has traced it."""
        found = self.__dict__.get("_kw_direct")
        if found is None and self._tf_predict_step is not None:
            concrete = self._tf_predict_step.get_concrete_function()
            specs = tuple(tf.nest.flatten(self._tf_predict_step.input_signature))
            found = self.__dict__["_kw_direct"] = (concrete, specs)
        return found

    def _rasa_predict(self, batch_in):
        found = None if self._run_eagerly or not self.prepared_for_prediction else direct(self)
        if found is None or len(batch_in) != len(found[1]):
            return plain(self, batch_in)  # traces on the first call, as before
        concrete, specs = found
        tensors = []
        ctx = context.context()
        for value, spec in zip(batch_in, specs, strict=True):  # lengths checked above
            tensor = to_tensor(value, spec.dtype, ctx)
            if tensor.dtype != spec.dtype or not spec.shape.is_compatible_with(tensor.shape):
                return plain(self, batch_in)
            tensors.append(tensor)
        self._training = False
        # What tf.function itself calls once it has matched and converted the inputs.
        result = concrete._call_flat(tensors, captured_inputs=concrete.captured_inputs)
        outputs = models.tf_utils.sync_to_numpy_or_python_type(result)
        if models.DIAGNOSTIC_DATA in outputs:
            outputs[models.DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[models.DIAGNOSTIC_DATA])
        return outputs

    models.RasaModel._rasa_predict = _rasa_predict


def install_one_step_feature_join() -> None:
    import numpy as np
    import scipy.sparse
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    plain = Message._combine_features

    def _combine_features(features, featurizers):
        if len(features) < 2:
            return plain(features, featurizers)
        matrices = [f.features for f in features]
        if all(scipy.sparse.issparse(m) for m in matrices):
            if len({m.shape[0] for m in matrices}) != 1:
                return plain(features, featurizers)  # raises Rasa's own error
            joined = scipy.sparse.hstack(matrices)
        elif all(isinstance(m, np.ndarray) for m in matrices):
            if len({m.ndim for m in matrices}) != 1:
                return plain(features, featurizers)
            joined = np.concatenate(matrices, axis=-1)
        else:
            return plain(features, featurizers)
        first = features[0]
        return Features(joined, first.type, first.attribute, featurizers)

    Message._combine_features = staticmethod(_combine_features)


#: bot/status/verification.py's CODE_ALPHABET and length: such a message is an answer to the
#: code question, not gibberish (the Rasa runtime cannot import bot/).
CODE_ALPHABET = frozenset("ACDEFGHJKMNPQRTUVWXY34679")
CODE_LENGTH = 8
KNOWN_WORDS = "kw_known_words"


def install_unknown_words_fallback() -> None:
    import re

    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.shared.nlu.constants import ENTITIES, TEXT

    plain_process = CountVectorsFeaturizer.process
    plain_should_fallback = FallbackClassifier._should_fallback

    def process(self, messages):
        vectorizer = (self.vectorizers or {}).get(TEXT) if self.analyzer == "word" else None
        vocabulary = getattr(vectorizer, "vocabulary_", None)
        if vocabulary:
            for message in messages:
                tokens = self._get_processed_message_tokens_by_attribute(message, TEXT)
                # Two-letter words (de, en, ik) occur everywhere and say nothing.
                words = [token for token in tokens if token.isalpha() and len(token) > 2]
                if words:
                    message.set(KNOWN_WORDS, sum(1 for word in words if word in vocabulary))
        return plain_process(self, messages)

    def could_be_code(text: str) -> bool:
        cleaned = re.sub(r"[\s\-.]", "", text or "").upper()
        return len(cleaned) == CODE_LENGTH and set(cleaned) <= CODE_ALPHABET

    def _should_fallback(self, message) -> bool:
        if message.get(KNOWN_WORDS) == 0 and not message.get(ENTITIES) and not could_be_code(message.get(TEXT)):
            return True
        return plain_should_fallback(self, message)

    CountVectorsFeaturizer.process = process
    FallbackClassifier._should_fallback = _should_fallback
