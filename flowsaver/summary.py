"""``tf.summary``: summary ops, FileWriter and the event messages."""
from flowsaver.format.event_protos import (Event, SessionLog, Summary, SummaryDescription,
                                           SummaryMetadata, TaggedRunMetadata)
from flowsaver.ops.summary.api import (audio, get_summary_description, histogram, image,
                                       merge, merge_all, scalar, tensor_summary, text)
from flowsaver.train.summary_writer import FileWriter, FileWriterCache, summary_iterator

__all__ = ["Event", "FileWriter", "FileWriterCache", "SessionLog", "Summary",
           "SummaryDescription", "SummaryMetadata", "TaggedRunMetadata", "audio",
           "get_summary_description", "histogram", "image", "merge", "merge_all", "scalar",
           "summary_iterator", "tensor_summary", "text"]
