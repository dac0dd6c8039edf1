"""``tf.image`` (TensorFlow 1.x): codecs, resizing, dtype conversion, standardization,
random flips and crops. Resizing of a 3-D image adds and removes the batch dimension
around the 4-D op, as TensorFlow does; the crop and pad helpers need static shapes.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.image.adjust import *  # noqa: F401,F403
from flowsaver.ops.image.adjust import __all__ as _ADJUST
from flowsaver.ops.image.convert import convert_image_dtype
from flowsaver.ops.image.geometry import *  # noqa: F401,F403
from flowsaver.ops.image.geometry import __all__ as _GEOMETRY
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of
from flowsaver.ops.scope_api import name_scope

__all__ = ["ResizeMethod", "central_crop", "convert_image_dtype", "decode_image",
           "decode_jpeg", "decode_png", "encode_jpeg", "encode_png",
           "non_max_suppression", "non_max_suppression_with_scores", "crop_and_resize",
           "per_image_standardization", "resize", "resize_images",
           "resize_image_with_crop_or_pad"] + _ADJUST + _GEOMETRY


class ResizeMethod:
    """TensorFlow 1.x's resize method numbers."""
    BILINEAR, NEAREST_NEIGHBOR, BICUBIC, AREA = 0, 1, 2, 3


_RESIZE_OPS = {ResizeMethod.BILINEAR: "ResizeBilinear",
               ResizeMethod.NEAREST_NEIGHBOR: "ResizeNearestNeighbor",
               ResizeMethod.BICUBIC: "ResizeBicubic", ResizeMethod.AREA: "ResizeArea",
               "bilinear": "ResizeBilinear", "nearest": "ResizeNearestNeighbor",
               "bicubic": "ResizeBicubic", "area": "ResizeArea"}


def decode_png(contents, channels=0, dtype="uint8", name=None):
    """[height, width, channels] pixels of a PNG (uint8 or uint16)."""
    return create_op("DecodePng", [contents], {"channels": channels, "dtype": as_dtype(dtype)},
                     name=name)


def encode_png(image, compression=-1, name=None):
    """PNG bytes of a [height, width, channels] uint8 or uint16 image."""
    return create_op("EncodePng", [image], {"compression": compression}, name=name)


def decode_jpeg(contents, channels=0, ratio=1, fancy_upscaling=True,
                try_recover_truncated=False, acceptable_fraction=1, dct_method="",
                name=None):
    """[height, width, channels] uint8 pixels of a JPEG (needs ``flowsaver[images]``)."""
    return create_op("DecodeJpeg", [contents], {
        "channels": channels, "ratio": ratio, "fancy_upscaling": fancy_upscaling,
        "try_recover_truncated": try_recover_truncated,
        "acceptable_fraction": float(acceptable_fraction), "dct_method": dct_method},
        name=name)


def encode_jpeg(image, format="", quality=95, progressive=False, optimize_size=False,  # noqa: A002
                chroma_downsampling=True, density_unit="in", x_density=300, y_density=300,
                xmp_metadata="", name=None):
    """JPEG bytes of a uint8 image (needs ``flowsaver[images]``)."""
    return create_op("EncodeJpeg", [image], {
        "format": format, "quality": quality, "progressive": progressive,
        "optimize_size": optimize_size, "chroma_downsampling": chroma_downsampling,
        "density_unit": density_unit, "x_density": x_density, "y_density": y_density,
        "xmp_metadata": xmp_metadata}, name=name)


def decode_image(contents, channels=None, dtype="uint8", name=None, expand_animations=True):
    """Pixels of a PNG, JPEG, GIF or BMP, by the format its bytes show."""
    dtype = as_dtype(dtype)
    with graph_of([contents]).as_default(), name_scope(name, "decode_image"):
        stored = dtype if dtype.name == "uint16" else as_dtype("uint8")
        image = create_op("DecodeImage", [contents], {
            "channels": channels or 0, "dtype": stored,
            "expand_animations": expand_animations}, name="DecodeImage")
        return image if dtype == stored else convert_image_dtype(image, dtype)


def resize_images(images, size, method=ResizeMethod.BILINEAR, align_corners=False,
                  preserve_aspect_ratio=False, name=None):
    """``images`` ([batch,] height, width, channels) resized to ``size`` = [height, width]."""
    images = convert_to_tensor(images, name="images")
    op_type = _RESIZE_OPS.get(method)
    if op_type is None:
        raise ValueError(f"Resize method is not implemented: {method}")
    with graph_of([images]).as_default(), name_scope(name, "resize"):
        single = images.shape.ndims == 3
        if images.shape.ndims not in (3, 4):
            raise ValueError("'images' must have either 3 or 4 dimensions.")
        if single:
            images = array_ops.expand_dims(images, 0)
        height, width = images.shape.as_list()[1:3]
        if preserve_aspect_ratio and height and width:
            ratio = min(size[0] / height, size[1] / width)
            size = [int(height * ratio), int(width * ratio)]
        if isinstance(size, (list, tuple)) and [height, width] == list(size):
            return array_ops.squeeze(images, [0]) if single else images
        size = convert_to_tensor(size, dtype="int32", name="size")
        attrs = {} if op_type == "ResizeArea" else {"half_pixel_centers": False}
        attrs["align_corners"] = align_corners
        resized = create_op(op_type, [images, size], attrs, name=op_type)
        return array_ops.squeeze(resized, [0]) if single else resized


resize = resize_images


def per_image_standardization(image):
    """(image - mean) / max(stddev, 1 / sqrt(number of elements)), per image."""
    image = convert_to_tensor(image, name="image")
    with graph_of([image]).as_default(), name_scope(None, "per_image_standardization"):
        image = math_ops.cast(image, "float32")
        shape = image.shape.as_list()[-3:]
        num_pixels = float(np.prod(shape)) if None not in shape else \
            math_ops.cast(math_ops.reduce_prod(array_ops.shape(image)[-3:]), "float32")
        mean = math_ops.reduce_mean(image, axis=[-1, -2, -3], keepdims=True)
        variance = math_ops.reduce_mean(math_ops.square(image - mean), axis=[-1, -2, -3],
                                        keepdims=True)
        stddev = math_ops.sqrt(variance)
        min_stddev = math_ops.rsqrt(convert_to_tensor(num_pixels, dtype="float32"))
        return math_ops.divide(image - mean, math_ops.maximum(stddev, min_stddev))


def central_crop(image, central_fraction):
    """The central ``central_fraction`` of ``image`` along height and width."""
    if central_fraction <= 0.0 or central_fraction > 1.0:
        raise ValueError("central_fraction must be within (0, 1]")
    image = convert_to_tensor(image, name="image")
    if central_fraction == 1.0:
        return image
    with graph_of([image]).as_default(), name_scope(None, "central_crop"):
        rank = image.shape.ndims
        height, width = image.shape.as_list()[rank - 3:rank - 1]
        if height is None or width is None:
            raise ValueError("central_crop needs the image's height and width to be known")
        top = int((height - height * central_fraction) / 2)
        left = int((width - width * central_fraction) / 2)
        begin = [top, left, 0] if rank == 3 else [0, top, left, 0]
        size = [height - 2 * top, width - 2 * left, -1]
        size = size if rank == 3 else [-1] + size
        return array_ops.slice(image, begin, size)


def resize_image_with_crop_or_pad(image, target_height, target_width):
    """``image`` cropped and/or zero-padded around its centre to the target size."""
    image = convert_to_tensor(image, name="image")
    with graph_of([image]).as_default(), name_scope(None, "resize_image_with_crop_or_pad"):
        rank = image.shape.ndims
        height, width = image.shape.as_list()[rank - 3:rank - 1]
        if height is None or width is None:
            raise ValueError("resize_image_with_crop_or_pad needs a known height and width")
        crop_top, crop_left = max((height - target_height) // 2, 0), \
            max((width - target_width) // 2, 0)
        pad_top, pad_left = max((target_height - height) // 2, 0), \
            max((target_width - width) // 2, 0)
        keep_h, keep_w = min(target_height, height), min(target_width, width)
        lead = [] if rank == 3 else [0]
        cropped = array_ops.slice(image, lead + [crop_top, crop_left, 0],
                                  ([-1] if rank == 4 else []) + [keep_h, keep_w, -1])
        padding = [[0, 0]] * (rank - 3) + [
            [pad_top, target_height - keep_h - pad_top],
            [pad_left, target_width - keep_w - pad_left], [0, 0]]
        return array_ops.pad(cropped, padding)


def non_max_suppression(boxes, scores, max_output_size, iou_threshold=0.5,
                        score_threshold=float("-inf"), name=None):
    """Indices of the boxes greedy non-maximum suppression keeps, best first
    (``NonMaxSuppressionV3``)."""
    with name_scope(name, "non_max_suppression"):
        iou_threshold = convert_to_tensor(iou_threshold, name="iou_threshold")
        score_threshold = convert_to_tensor(score_threshold, name="score_threshold")
        return create_op("NonMaxSuppressionV3", [boxes, scores, max_output_size,
                                                 iou_threshold, score_threshold])


def non_max_suppression_with_scores(boxes, scores, max_output_size, iou_threshold=0.5,
                                    score_threshold=float("-inf"), soft_nms_sigma=0.0,
                                    name=None):
    """(indices, scores) of the boxes (soft, with ``soft_nms_sigma`` > 0) non-maximum
    suppression keeps (``NonMaxSuppressionV5``)."""
    with name_scope(name, "non_max_suppression_with_scores"):
        iou_threshold = convert_to_tensor(iou_threshold, name="iou_threshold")
        score_threshold = convert_to_tensor(score_threshold, name="score_threshold")
        soft_nms_sigma = convert_to_tensor(soft_nms_sigma, name="soft_nms_sigma")
        indices, kept_scores, _ = create_op(
            "NonMaxSuppressionV5", [boxes, scores, max_output_size, iou_threshold,
                                    score_threshold, soft_nms_sigma],
            {"pad_to_max_output_size": False})
        return indices, kept_scores


def crop_and_resize(image, boxes, box_ind=None, crop_size=None, method="bilinear",
                    extrapolation_value=0, name=None, box_indices=None):
    """Boxes of a batch of images resampled to ``crop_size`` (``CropAndResize``; TF1's
    argument names, ``box_ind`` or ``box_indices``)."""
    if box_ind is not None and box_indices is not None:
        raise ValueError("Cannot specify both 'box_indices' and 'box_ind'.")
    box_ind = box_indices if box_ind is None else box_ind
    with graph_of([image, boxes, box_ind, crop_size]).as_default():
        return create_op("CropAndResize", [image, boxes, box_ind, crop_size],
                         {"method": method, "extrapolation_value": float(extrapolation_value)},
                         name=name)
