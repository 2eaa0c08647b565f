"""Spark rows of `cargo xtask bench`, in one local[2] session: the mouvements source, the
Python Data Source API's floor (a source that yields one ready batch again and again), Spark
reading our raw CSV of the same rows and dbldatagen generating the same seven columns, each
into the `noop` sink; write_lake against the CLI's time (given as argv[4]). Prints one JSON
object of medians."""

import json
import os
import statistics
import sys
import time

os.environ["PYSPARK_PYTHON"] = sys.executable
os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"

rows, csv_lake, work, runs = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

started = time.perf_counter()
from pyspark.sql import SparkSession  # noqa: E402

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.memory", "4g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
from pyspark.sql.datasource import DataSourceReader  # noqa: E402

from mouvements.spark import SCHEMA, MouvementsDataSource, write_lake  # noqa: E402


class ReadyBatches(MouvementsDataSource):
    """The API's floor: each partition of our source makes its first batch once and yields
    it again and again, to the partition's row count, generating nothing more."""

    @classmethod
    def name(cls):
        return "ready_batches"

    def reader(self, schema):
        return _Ready(super().reader(schema))


class _Ready(DataSourceReader):
    def __init__(self, inner):
        self.inner = inner

    def partitions(self):
        return self.inner.partitions()

    def read(self, partition):
        first = next(iter(self.inner.read(partition)))
        left = partition.stop - partition.start
        while left > 0:
            batch = first if left >= first.num_rows else first.slice(0, left)
            left -= batch.num_rows
            yield batch


spark.dataSource.register(MouvementsDataSource)
spark.dataSource.register(ReadyBatches)
spark.range(1).count()
startup = time.perf_counter() - started


def ours():
    spark.read.format("mouvements").option("rows", str(rows)).load().write.format("noop").mode("overwrite").save()


def floor():
    spark.read.format("ready_batches").option("rows", str(rows)).load().write.format("noop").mode("overwrite").save()


def csv():
    (spark.read.option("header", "true").schema(SCHEMA).csv(csv_lake + "/raw/mouvements-*.csv")
     .write.format("noop").mode("overwrite").save())


def dbldatagen():
    import dbldatagen as dg
    from pyspark.sql.types import DateType, DecimalType, StringType

    types = ["cotisation", "remboursement", "commission", "rétrocession", "ajustement", "régularisation",
             "pénalité", "correction", "annulation", "virement", "provision", "réassurance", "frais_gestion",
             "prime_exceptionnelle", "bonus_malus", "indemnisation", "franchise", "rachat", "recours"]
    spec = (dg.DataGenerator(spark, rows=rows, partitions=2)
            .withColumn("id_mouvement", StringType(), format="M%07d", baseColumn="id")
            .withColumn("date_op", DateType(), data_range=dg.DateRange("2025-06-01 00:00:00", "2025-06-30 00:00:00", "days=1"), random=True)
            .withColumn("produit", StringType(), values=["auto", "santé", "habitation", "vie"], random=True)
            .withColumn("type_op", StringType(), values=types, random=True)
            .withColumn("montant", DecimalType(18, 2), minValue=-10000, maxValue=10000, random=True)
            .withColumn("agence_id", StringType(), format="AG_%03d", minValue=1, maxValue=50, random=True)
            .withColumn("pays", StringType(), values=["FR", "ES", "IT", "DE", "BE"], random=True))
    spec.build().write.format("noop").mode("overwrite").save()


lakes = iter(range(1000))


def lake():
    write_lake(spark, f"{work}/spark-lake-{next(lakes)}", rows=rows)


def median(job):
    job()  # warm-up: the JVM's code and the workers
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        job()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


result = {"startup": startup, "source": median(ours), "floor": median(floor), "csv": median(csv),
          "write_lake": median(lake)}
try:
    result["dbldatagen"] = median(dbldatagen)
except ImportError as e:
    result["dbldatagen_skipped"] = str(e)
print(json.dumps(result))
