"""Screenshots of QGIS (the desktop application, in Chinese) with landmatch added as staff, for
the README: run inside QGIS by ``scripts/qgis_screenshot`` (``qgis --code``), which sets
LM_URL, LM_USER, LM_PASSWORD and LM_OUT.

What a staff member does by hand is done here the same way: an authentication configuration
of the Basic method (user name + password) in 认证, an "OGC API - Features" connection to
``LM_URL/ogc`` that uses it (数据源管理器 → WFS/OGC API - Features → 新建), the parcels
collection loaded through it, and the parcels' vector tiles (矢量切片, the OGC API – Tiles
template) with the same configuration. Writes the connection dialog and the main window.
"""

from __future__ import annotations

import os

from qgis.core import (
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRectangle,
    QgsSettings,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.gui import QgsNewHttpConnection
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

BASE = os.environ["LM_URL"].rstrip("/")
OUT = os.environ["LM_OUT"]
NAME = "landmatch"

auth = QgsApplication.authManager()
auth.setMasterPassword("landmatch-screenshot", True)
cfg = QgsAuthMethodConfig("Basic")
cfg.setName("landmatch 工作人员")
cfg.setConfig("username", os.environ["LM_USER"])
cfg.setConfig("password", os.environ["LM_PASSWORD"])
auth.storeAuthenticationConfig(cfg)

settings = QgsSettings()
key = f"qgis/connections-wfs/{NAME}"
settings.setValue(f"{key}/url", f"{BASE}/ogc")
settings.setValue(f"{key}/version", "OGC_API_FEATURES")
settings.setValue(f"{key}/authcfg", cfg.id())
settings.setValue(f"{key}/pagesize", "1000")
settings.setValue(f"{key}/pagingEnabled", "true")
settings.setValue(f"qgis/WFS/{NAME}/authcfg", cfg.id())  # where the dialog reads it

dialog = QgsNewHttpConnection(
    iface.mainWindow(), QgsNewHttpConnection.ConnectionWfs, "qgis/connections-wfs/", NAME
)
dialog.setWindowTitle("新建 WFS/OGC API - Features 连接")
dialog.show()

tiles = QgsVectorTileLayer(
    f"type=xyz&url={BASE}/ogc/collections/zones/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
    f"&zmin=0&zmax=14&authcfg={cfg.id()}",
    "开发区（矢量切片）",
)
parcels = QgsVectorLayer(
    f"url='{BASE}/ogc' typename='parcels' authcfg='{cfg.id()}'",
    "地块（OGC API，工作人员）",
    "OAPIF",
)
project = QgsProject.instance()
project.addMapLayer(tiles)
project.addMapLayer(parcels)
project.setCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
iface.mainWindow().resize(1366, 800)
iface.mainWindow().showMaximized()
canvas = iface.mapCanvas()


def _zoom() -> None:
    to_map = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4490"), canvas.mapSettings().destinationCrs(), project
    )
    canvas.setExtent(to_map.transformBoundingBox(QgsRectangle(113.9, 37.6, 115.3, 38.5)))
    canvas.refresh()


QTimer.singleShot(1000, _zoom)


def _grab_dialog() -> None:
    dialog.grab().save(os.path.join(OUT, "qgis_connection.png"))
    dialog.close()
    QTimer.singleShot(20000, _grab_main)


def _grab_main() -> None:
    iface.mainWindow().grab().save(os.path.join(OUT, "qgis_parcels.png"))
    print(f"QGIS-SCREENSHOT parcels={parcels.featureCount()} valid={parcels.isValid()}", flush=True)
    os._exit(0)  # QGIS 3.22's teardown can crash; the pictures are written


QTimer.singleShot(4000, _grab_dialog)
