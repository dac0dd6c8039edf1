"""What the state-file tests share: the timestamps in s5_tf2_object's state file."""

# all_model_checkpoint_timestamps and last_preserved_timestamp that TensorFlow's
# CheckpointManager wrote into tests/fixtures/tf_samples/s5_tf2_object/checkpoint.
S5_TS = [1795236851.1850705, 1795236851.1945791]
S5_LAST = 1795236850.1551416
