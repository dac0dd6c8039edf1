"""``tf.train.Example`` and friends: the messages TFRecord data files usually hold.

Field numbers are TensorFlow's (its example and feature messages, proto3, so repeated
numbers are packed on the wire); ``tests/interop/test_examples_tf.py`` compares every
message here with TensorFlow's descriptors and parses each side's bytes with the other.

    Feature        oneof kind { 1 bytes_list BytesList, 2 float_list FloatList,
                                3 int64_list Int64List }
    Features       1 feature map<string, Feature>
    FeatureList    1 feature repeated Feature
    FeatureLists   1 feature_list map<string, FeatureList>
    Example        1 features Features
    SequenceExample 1 context Features, 2 feature_lists FeatureLists

Usage: ``from flowsaver.format.example_protos import Example``.
"""
from __future__ import annotations

from flowsaver.format.proto_builder import build

_KIND = " oneof:kind"

_feature = build("flowsaver/feature.proto", "tensorflow", {}, {
    "BytesList": ["1 value repeated bytes"],
    "FloatList": ["1 value repeated float"],
    "Int64List": ["1 value repeated int64"],
    "Feature": ["1 bytes_list BytesList" + _KIND, "2 float_list FloatList" + _KIND,
                "3 int64_list Int64List" + _KIND],
    "Features": ["1 feature map<string,Feature>"],
    "FeatureList": ["1 feature repeated Feature"],
    "FeatureLists": ["1 feature_list map<string,FeatureList>"],
})

_example = build("flowsaver/example.proto", "tensorflow", {}, {
    "Example": ["1 features Features"],
    "SequenceExample": ["1 context Features", "2 feature_lists FeatureLists"],
}, deps=["flowsaver/feature.proto"])

BytesList = _feature["BytesList"]
FloatList = _feature["FloatList"]
Int64List = _feature["Int64List"]
Feature = _feature["Feature"]
Features = _feature["Features"]
FeatureList = _feature["FeatureList"]
FeatureLists = _feature["FeatureLists"]
Example = _example["Example"]
SequenceExample = _example["SequenceExample"]

MESSAGES = {name: cls for table in (_feature, _example) for name, cls in table.items()
            if "." not in name}
