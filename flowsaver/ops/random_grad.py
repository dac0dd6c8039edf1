"""Random ops have no gradient (TensorFlow registers them as not differentiable)."""
from flowsaver.ops.gradients_impl import not_differentiable

not_differentiable("RandomStandardNormal", "TruncatedNormal", "RandomUniform", "RandomShuffle",
                   "Multinomial", "StatelessMultinomial", "StatelessRandomNormal",
                   "StatelessRandomUniform", "StatelessRandomUniformInt",
                   "StatelessRandomUniformFullInt", "StatelessTruncatedNormal",
                   "StatelessRandomNormalV2", "StatelessRandomUniformV2",
                   "StatelessRandomUniformIntV2", "StatelessRandomUniformFullIntV2",
                   "StatelessTruncatedNormalV2")
