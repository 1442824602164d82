"""The stage base class owns lazy setup: process runs setup once per process however it is called,
and the attributes setup loads never travel when the stage is pickled to a worker."""
import pickle

import pyarrow as pa

from corpusmill.pipeline.stage import Decision, Stage
from corpusmill.stages.langid import LangID


class Counting(Stage):
    name = "counting"
    loaded = ("model",)
    setups = 0

    def setup(self) -> None:
        type(self).setups += 1
        self.model = lambda text: len(text)  # a lambda does not pickle: it must stay behind

    def process(self, batch: pa.Table) -> Decision:
        return Decision(batch, [None if self.model(t) > 2 else "short" for t in batch.column("text").to_pylist()])


def test_setup_runs_once_before_process_and_loaded_state_stays_behind():
    batch = pa.table({"text": ["hello", "hi"]})
    stage = Counting()
    assert stage.process(batch).reasons == [None, "short"]
    assert stage.process(batch).reasons == [None, "short"]
    assert Counting.setups == 1
    shipped = pickle.loads(pickle.dumps(stage))  # what Ray does to send it to a worker
    assert "model" not in shipped.__dict__ and shipped.options == stage.options
    assert shipped.process(batch).reasons == [None, "short"] and Counting.setups == 2


def test_a_real_model_stage_ships_without_its_model():
    stage = LangID()
    stage.process(pa.table({"text": ["The weather in the city was mild and pleasant today."]}))
    assert stage._model is not None
    shipped = pickle.loads(pickle.dumps(stage))
    assert "_model" not in shipped.__dict__
    d = shipped.process(pa.table({"text": ["Das Wetter in der Stadt war heute mild und angenehm."]}))
    assert d.table.column("lang").to_pylist() == ["de"]
