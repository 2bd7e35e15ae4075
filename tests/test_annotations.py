"""Window-box import/export (CSV, COCO JSON), errors naming the line / field, and the numbered sheet
(interp.analysis.annotations, interp.analysis.sample_sheet)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interp.analysis.annotations import (
    AnnotationError,
    Box,
    boxes_from_arrays,
    boxes_per_image,
    read_boxes,
    write_boxes,
)
from interp.analysis.sample_sheet import boxes_from_sheet, render_sheet, write_annotation_kit

BOXES = [Box(0, 1, 2, 10, 12), Box(0, 30.5, 4, 40, 9.25), Box(3, 0, 0, 64, 64)]


# ----------------------------------------------------------------------------------------------- CSV


def test_csv_round_trip(tmp_path):
    p = write_boxes(tmp_path / "b.csv", BOXES)
    assert p.read_text().splitlines()[0] == "image,x0,y0,x1,y1"
    got = read_boxes(p)
    assert got == BOXES
    assert got[1].source == "line 3"


def test_csv_comments_blank_lines_and_labels(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("# drawn by hand\n\nimage,x0,y0,x1,y1,label\n2,1,1,5,5,window\n2,6,6,9,9,door\n\n4,0,0,3,3,\n")
    got = read_boxes(p)
    assert [(b.image, b.xyxy) for b in got] == [(2, (1, 1, 5, 5)), (4, (0, 0, 3, 3))]  # empty label = window
    assert len(read_boxes(p, label=None)) == 3


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("img,x0,y0,x1,y1\n0,1,1,2,2\n", "line 1", "header"),
        ("image,x0,y0,x1,y1\n0,1,1,2,2\n1,1,one,2,2\n", "line 3", "'y0' is not a number"),
        ("image,x0,y0,x1,y1\n0,1,1,2\n", "line 2", "expected 5 columns"),
        ("image,x0,y0,x1,y1\n0,5,1,2,2\n", "line 2", "x1 > x0"),
        ("image,x0,y0,x1,y1\n-1,1,1,2,2\n", "line 2", "'image'"),
        ("image,x0,y0,x1,y1\n1.5,1,1,2,2\n", "line 2", "'image'"),
        ("image,x0,y0,x1,y1\n0,1,1,inf,2\n", "line 2", "not finite"),
        ("\n# nothing\n", None, "empty file"),
    ],
)
def test_csv_malformed_names_line_and_field(tmp_path, text, where, words):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(AnnotationError) as exc:
        read_boxes(p)
    msg = str(exc.value)
    assert str(p) in msg and words in msg
    if where:
        assert where in msg and exc.value.where == where
    assert isinstance(exc.value, ValueError)


# ---------------------------------------------------------------------------------------------- COCO


def test_coco_round_trip_and_file_name_index(tmp_path):
    p = write_boxes(tmp_path / "b.json", BOXES, n_images=5, image_size=64)
    data = json.loads(p.read_text())
    assert [c["name"] for c in data["categories"]] == ["window"]
    assert data["images"][3] == {"id": 3, "file_name": "sample_0003.png", "width": 64, "height": 64}
    assert data["annotations"][1]["bbox"] == [30.5, 4, 9.5, 5.25]
    assert read_boxes(p) == BOXES
    # ids need not be sample indices: the number in file_name wins
    data = {"images": [{"id": 17, "file_name": "samples/sample_0042.png"}, {"id": 5}],
            "annotations": [{"image_id": 17, "bbox": [1, 2, 3, 4]}, {"image_id": 5, "bbox": [0, 0, 1, 1]}]}
    p.write_text(json.dumps(data))
    assert [(b.image, b.xyxy) for b in read_boxes(p)] == [(42, (1, 2, 4, 6)), (5, (0, 0, 1, 1))]


def test_coco_categories_filter_and_scaling(tmp_path):
    data = {"images": [{"id": 0, "file_name": "sample_0000.png", "width": 256, "height": 256}],
            "annotations": [{"image_id": 0, "bbox": [40, 80, 20, 40], "category_id": 7},
                            {"image_id": 0, "bbox": [0, 0, 4, 4], "category_id": 8}],
            "categories": [{"id": 7, "name": "window"}, {"id": 8, "name": "bed"}]}
    p = tmp_path / "b.json"
    p.write_text(json.dumps(data))
    assert [b.xyxy for b in read_boxes(p)] == [(40, 80, 60, 120)]
    assert [b.xyxy for b in read_boxes(p, image_size=64)] == [(10, 20, 15, 30)]  # drawn 4x enlarged
    assert {b.label for b in read_boxes(p, label=None)} == {"window", "bed"}


@pytest.mark.parametrize(
    "data, where",
    [
        ({"images": [], "annotations": []} | {"images": "x"}, "top level.images"),
        ({"images": [{"id": 0}], "annotations": [{"image_id": 0}]}, "annotations[0].bbox"),
        ({"images": [{"id": 0}], "annotations": [{"image_id": 0, "bbox": [0, 0, 1, 1]},
                                                 {"image_id": 0, "bbox": [0, 0, -1, 1]}]}, "annotations[1].bbox"),
        ({"images": [{"id": 0}], "annotations": [{"image_id": 0, "bbox": [0, 0, "1", 1]}]}, "annotations[0].bbox"),
        ({"images": [{"id": 0}], "annotations": [{"image_id": 9, "bbox": [0, 0, 1, 1]}]}, "annotations[0].image_id"),
        ({"images": [{"id": 0}, {"id": 0}], "annotations": []}, "images[1].id"),
        ({"images": [{"file_name": "a.png"}], "annotations": []}, "images[0].id"),
        ({"images": [{"id": 0}], "annotations": [{"image_id": 0, "bbox": [0, 0, 1, 1], "category_id": 3}],
          "categories": [{"id": 1, "name": "window"}]}, "annotations[0].category_id"),
        ({"images": [{"id": 0}], "annotations": [], "categories": [{"id": 1}]}, "categories[0].name"),
    ],
)
def test_coco_malformed_names_field(tmp_path, data, where):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(AnnotationError) as exc:
        read_boxes(p)
    assert str(p) in str(exc.value) and where in str(exc.value)


def test_coco_syntax_error_names_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"images": [],\n "annotations": [\n  {"image_id": 0, "bbox": [1, 2, 3 4]}]}\n')
    with pytest.raises(AnnotationError, match=r"bad\.json, line 3 column \d+: invalid JSON"):
        read_boxes(p)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "b.txt").write_text("x")
    with pytest.raises(AnnotationError, match="unknown box format"):
        read_boxes(tmp_path / "b.txt")
    with pytest.raises(AnnotationError, match="no such file"):
        read_boxes(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------ per-image arrays


def test_boxes_per_image_clips_and_checks(tmp_path):
    per = boxes_per_image([Box(1, -3, 2, 70, 9), Box(1, 1, 1, 2, 2)], n_images=3, image_size=64)
    assert [len(a) for a in per] == [0, 2, 0]
    assert per[1][0].tolist() == [0, 2, 64, 9]
    with pytest.raises(AnnotationError, match=r"b\.csv, line 7: box on sample 5, but only samples 0\.\.2"):
        boxes_per_image([Box(5, 0, 0, 1, 1, source="line 7")], 3, path=tmp_path / "b.csv")
    with pytest.raises(AnnotationError, match="outside"):
        boxes_per_image([Box(0, 70, 70, 80, 80)], 3, image_size=64)
    arrays = [np.array([[1, 2, 3, 4]]), np.zeros((0, 4)), np.array([[0, 0, 5, 5], [6, 6, 8, 9]])]
    assert [b.image for b in boxes_from_arrays(arrays)] == [0, 2, 2]
    assert [a.tolist() for a in boxes_per_image(boxes_from_arrays(arrays), 3)] == [a.tolist() for a in arrays]


def test_box_validation():
    with pytest.raises(ValueError, match="x1 > x0"):
        Box(0, 5, 0, 5, 3)
    with pytest.raises(ValueError, match="integer"):
        Box(-1, 0, 0, 1, 1)
    assert Box(0, 0, 0, 1, 1, source="a") == Box(0, 0, 0, 1, 1, source="b")


# ------------------------------------------------------------------------------------ numbered sheet


def test_sheet_geometry_and_widget_boxes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (13, 3, 16, 16), dtype=np.uint8)
    rgb, lay = render_sheet(images, cols=5, scale=3, pad=4, label_h=12)
    assert rgb.shape == (lay.height, lay.width, 3) and lay.rows == 3
    ox, oy = lay.origin(12)                                     # row 2, column 2
    assert (ox, oy) == (4 + 2 * (48 + 4), 4 + 2 * (12 + 48 + 4) + 12)
    tile = images[12].transpose(1, 2, 0).repeat(3, 0).repeat(3, 1)
    assert np.array_equal(rgb[oy : oy + 48, ox : ox + 48], tile)  # pixels exact, numbers only in the band
    drawn = [{"x": ox + 6, "y": oy + 3, "width": 9, "height": 30, "label": "window"},
             {"x": ox - 10, "y": oy + 30, "width": 20, "height": 20, "label": "window"},   # spills over: clipped
             {"x": 0, "y": 0, "width": 5, "height": 5, "label": "bed"}]                     # other label: skipped
    got = boxes_from_sheet(drawn, lay)
    assert got[0] == Box(12, 2, 1, 5, 11)
    assert got[1].image == 12 and got[1].xyxy == (0, 10, 10 / 3, 16)
    with pytest.raises(ValueError, match="widget box 0.*not on any sample"):
        boxes_from_sheet([{"x": ox - 4, "y": oy - 11, "width": 2, "height": 2}], lay)  # on the number band


def test_annotation_kit_round_trip(tmp_path):
    images = np.zeros((4, 3, 16, 16), np.uint8)
    paths = write_annotation_kit(tmp_path / "kit", images, {"seed": 0, "n": 4}, cols=2, scale=4)
    assert (tmp_path / "kit" / "samples" / "sample_0003.png").is_file() and paths["sheet"].is_file()
    assert read_boxes(paths["csv"]) == [] and read_boxes(paths["coco_template"]) == []
    # someone draws on the 4x enlarged sample_0002.png with a COCO tool
    coco = json.loads(paths["coco_template"].read_text())
    coco["annotations"] = [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [8, 16, 24, 32]}]
    paths["coco_template"].write_text(json.dumps(coco))
    assert [(b.image, b.xyxy) for b in read_boxes(paths["coco_template"], image_size=16)] == [(2, (2, 4, 8, 12))]
    assert json.loads(paths["meta"].read_text())["layout"]["cols"] == 2
