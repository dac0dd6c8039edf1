"""``tf.nn.rnn_cell``: the RNN cell classes (re-exports)."""
from flowsaver.ops.rnn.cells import (BasicLSTMCell, BasicRNNCell, GRUCell,  # noqa: F401
                                     LayerRNNCell, LSTMCell, LSTMStateTuple, RNNCell)
from flowsaver.ops.rnn.wrappers import (DeviceWrapper, DropoutWrapper,  # noqa: F401
                                        MultiRNNCell, ResidualWrapper)
