"""Put hadoop-aws and the AWS SDK bundle it was built against beside pyspark's jars (image build step).

Spark reads ``s3a://`` through Hadoop's s3a filesystem, which pyspark's wheel does not ship. The
versions are not pinned here: hadoop-aws must be the Hadoop of pyspark's own
``hadoop-client-api-<version>.jar`` (pinned by the lock through pyspark), and the SDK bundle the
one that Hadoop release names (``aws-java-sdk-v2.version`` in its ``hadoop-project`` POM); other
pairs fail at run time with missing classes. Each jar is checked against Maven Central's SHA-1.

    python platform/image/spark_s3_jars.py [--maven https://repo1.maven.org/maven2] [--jars DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import urllib.request
from pathlib import Path

MAVEN = "https://repo1.maven.org/maven2"
SDK_PROPERTY = re.compile(r"<aws-java-sdk-v2\.version>\s*([^<\s]+)\s*</aws-java-sdk-v2\.version>")


def pyspark_jars() -> Path:
    """The jars folder of the installed pyspark."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def hadoop_version(jars: Path) -> str:
    """The Hadoop release pyspark was built with, from its hadoop-client-api jar's name."""
    found = sorted(jars.glob("hadoop-client-api-*.jar"))
    if len(found) != 1:
        raise SystemExit(f"expected one hadoop-client-api jar in {jars}, found {[p.name for p in found]}")
    return found[0].name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def sdk_version(project_pom: str) -> str:
    """The AWS SDK v2 version a hadoop-project POM pins."""
    match = SDK_PROPERTY.search(project_pom)
    if match is None:
        raise SystemExit("the hadoop-project POM names no aws-java-sdk-v2.version")
    return match.group(1)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310 (https URLs of Maven Central)
        return bytes(response.read())


def fetch(url: str, folder: Path) -> Path:
    """Download ``url`` into ``folder``, refusing it unless its SHA-1 matches Maven's ``.sha1``."""
    data = _get(url)
    expected = _get(url + ".sha1").decode().split()[0].lower()
    actual = hashlib.sha1(data).hexdigest()  # noqa: S324 (Maven Central publishes SHA-1 checksums)
    if actual != expected:
        raise SystemExit(f"{url}: SHA-1 {actual} is not the published {expected}")
    target = folder / url.rsplit("/", 1)[1]
    target.write_bytes(data)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maven", default=MAVEN, help="Maven repository URL")
    parser.add_argument("--jars", type=Path, help="the jars folder (default: the installed pyspark's)")
    args = parser.parse_args(argv)
    jars = args.jars or pyspark_jars()
    hadoop = hadoop_version(jars)
    pom = _get(f"{args.maven}/org/apache/hadoop/hadoop-project/{hadoop}/hadoop-project-{hadoop}.pom").decode()
    sdk = sdk_version(pom)
    for url in (
        f"{args.maven}/org/apache/hadoop/hadoop-aws/{hadoop}/hadoop-aws-{hadoop}.jar",
        f"{args.maven}/software/amazon/awssdk/bundle/{sdk}/bundle-{sdk}.jar",
    ):
        sys.stdout.write(f"added {fetch(url, jars)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
