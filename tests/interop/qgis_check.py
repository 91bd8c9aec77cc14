"""Headless QGIS against a landmatch server, run by Debian's ``/usr/bin/python3`` (python3-qgis)
with ``QT_QPA_PLATFORM=offscreen``; ``tests/interop/test_qgis.py`` starts it and checks what it
prints (one JSON object).

    python3 qgis_check.py BASE_URL USER PASSWORD OUT_DIR

1. Adds an authentication configuration of the Basic method (user name + password), as a
   user does in 设置 → 选项 → 认证, and loads the OGC API – Features collection ``parcels``
   with it, and once more without it (the public view): the provider's feature count and
   the features actually iterated, for each.
2. Loads the parcels' vector tiles (the OGC API – Tiles template) and renders them at the
   province's and at a city's extent into PNGs; counts the pixels that are not background.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile


def main() -> None:
    base, user, password, out_dir = sys.argv[1:5]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = tempfile.mkdtemp(prefix="lm-qgis-auth-")
    from qgis.core import (
        Qgis,
        QgsApplication,
        QgsAuthMethodConfig,
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsMapRendererSequentialJob,
        QgsMapSettings,
        QgsProject,
        QgsRectangle,
        QgsVectorLayer,
        QgsVectorTileBasicRenderer,
        QgsVectorTileLayer,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    out: dict[str, object] = {"qgis": Qgis.QGIS_VERSION}
    try:
        auth = QgsApplication.authManager()
        assert auth.setMasterPassword("landmatch-test-master", True), "auth master password"
        cfg = QgsAuthMethodConfig("Basic")
        cfg.setName("landmatch staff")
        cfg.setConfig("username", user)
        cfg.setConfig("password", password)
        assert auth.storeAuthenticationConfig(cfg)[0], "store auth config"

        for who, extra in (("staff", f" authcfg='{cfg.id()}'"), ("public", "")):
            uri = f"url='{base}/ogc' typename='parcels'{extra}"
            layer = QgsVectorLayer(uri, f"parcels-{who}", "OAPIF")
            out[who] = {
                "valid": layer.isValid(),
                "count": layer.featureCount(),
                "iterated": sum(1 for _ in layer.getFeatures()),
                "fields": [f.name() for f in layer.fields()],
            }

        template = f"{base}/ogc/collections/parcels/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
        tiles = QgsVectorTileLayer(f"type=xyz&url={template}&zmin=0&zmax=14", "parcel tiles")
        renderer = QgsVectorTileBasicRenderer()
        renderer.setStyles(QgsVectorTileBasicRenderer.simpleStyleWithRandomColors())
        tiles.setRenderer(renderer)
        QgsProject.instance().addMapLayer(tiles)
        out["tiles_valid"] = tiles.isValid()
        merc = QgsCoordinateReferenceSystem("EPSG:3857")
        to_merc = QgsCoordinateTransform(
            QgsCoordinateReferenceSystem("EPSG:4490"), merc, QgsProject.instance()
        )
        extents = {
            "province": (113.4, 36.0, 119.9, 42.7),
            "city": (114.25, 37.85, 114.85, 38.25),  # 石家庄
        }
        for name, (x0, y0, x1, y1) in extents.items():
            settings = QgsMapSettings()
            settings.setLayers([tiles])
            settings.setDestinationCrs(merc)
            settings.setOutputSize(QSize(512, 512))
            settings.setBackgroundColor(QColor(255, 255, 255))
            settings.setExtent(to_merc.transformBoundingBox(QgsRectangle(x0, y0, x1, y1)))
            job = QgsMapRendererSequentialJob(settings)
            job.start()
            job.waitForFinished()
            image = job.renderedImage()
            path = os.path.join(out_dir, f"qgis_tiles_{name}.png")
            image.save(path)
            drawn = 0
            for y in range(0, image.height(), 2):
                for x in range(0, image.width(), 2):
                    if image.pixelColor(x, y) != QColor(255, 255, 255):
                        drawn += 1
            out[f"render_{name}"] = {"png": path, "drawn_pixels": drawn, "errors": job.errors()}
    except BaseException as exc:  # report, then leave without QGIS's teardown (below)
        out["error"] = repr(exc)
    for name in ("render_province", "render_city"):
        if name in out:
            out[name]["errors"] = [str(e) for e in out[name]["errors"]]  # type: ignore[index]
    print("QGIS-RESULT " + json.dumps(out, ensure_ascii=False), flush=True)
    # QGIS 3.22's exitQgis() can crash (SIGSEGV) tearing down providers in a headless run;
    # everything is reported already, so leave without it.
    os._exit(0)


if __name__ == "__main__":
    main()
