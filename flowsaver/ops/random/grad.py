"""Random ops have no gradient (TensorFlow registers them as not differentiable); the
stateful ones say so beside their kernels in kernels.py."""
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
TABLE.not_differentiable("Multinomial", "StatelessMultinomial", "StatelessRandomNormal",
                         "StatelessRandomUniform", "StatelessRandomUniformInt",
                         "StatelessRandomUniformFullInt", "StatelessTruncatedNormal",
                         "StatelessRandomNormalV2", "StatelessRandomUniformV2",
                         "StatelessRandomUniformIntV2", "StatelessRandomUniformFullIntV2",
                         "StatelessTruncatedNormalV2")
