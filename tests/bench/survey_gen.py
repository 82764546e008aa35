#!/usr/bin/env python3
"""Seeded synthetic Kumamoto-scale files for `hq survey` (bench_survey.sh).

    survey_gen.py DIR [--seed N] [--buildings N] [--applications N] [--drone N]

writes DIR/buildings.geojson (footprints on a grid east of Kumamoto city,
with addresses, structure and floors), DIR/buildings.csv (the same rows as
points, for the sqlite3 baseline), DIR/applications.csv (matched by address
in three written forms, by building id, by position only, or not at all; a
few people apply twice) and DIR/drone.geojson (one feature on most
buildings, some in the streets and some outside the town: unmatched).
Everything is made up; the same seed gives the same files.
"""
import argparse
import json
import random

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--seed", type=int, default=20160416)
p.add_argument("--buildings", type=int, default=100000)
p.add_argument("--applications", type=int, default=60000)
p.add_argument("--drone", type=int, default=100000)
a = p.parse_args()
rng = random.Random(a.seed)

LAT0, LON0, STEP = 32.7800, 130.7500, 0.00015  # about 17 m by 14 m
SIZE = 0.00008  # a house about 9 m by 7.5 m
COLS = 400
TOWNS = ["水前寺", "健軍", "長嶺", "秋津", "若葉", "沼山津", "戸島", "画図",
         "佐土原", "月出", "花立", "尾ノ上", "錦ケ丘", "神水", "出水", "江津",
         "帯山", "保田窪", "新南部", "小山"]
ZEN = str.maketrans("0123456789-", "０１２３４５６７８９－")


def address(i):
    town = TOWNS[i // 5000 % len(TOWNS)]
    rest = i % 5000
    return town, rest // 1000 + 1, rest // 25 % 40 + 1, rest % 25 + 1


def written(i, form):
    town, c, b, g = address(i)
    base = "熊本市東区" + town
    if form == 0:
        return "%s%d丁目%d番%d号" % (base, c, b, g)
    if form == 1:
        return ("%s%d-%d-%d" % (base, c, b, g)).translate(ZEN)
    return "熊本県%s%d-%d-%d" % (base, c, b, g)


def corner(i):
    return LAT0 + (i // COLS) * STEP, LON0 + (i % COLS) * STEP


def ring(lat, lon, h, w):
    return [[[round(lon, 7), round(lat, 7)], [round(lon + w, 7), round(lat, 7)],
             [round(lon + w, 7), round(lat + h, 7)], [round(lon, 7), round(lat + h, 7)],
             [round(lon, 7), round(lat, 7)]]]


n = a.buildings
# one lot in a hundred holds two buildings: one address, two ids
addr_of = [i - 1 if i % 100 == 1 else i for i in range(n)]
with open(a.dir + "/buildings.geojson", "w") as f, open(a.dir + "/buildings.csv", "w") as c:
    c.write("id,address,lat,lon,structure,floors\n")
    f.write('{"type":"FeatureCollection","features":[\n')
    for i in range(n):
        lat, lon = corner(i)
        structure = "wooden" if rng.random() < 0.7 else "non_wooden"
        floors = rng.choice([1, 2, 2, 2, 3])
        props = {"id": "K%06d" % i, "address": written(addr_of[i], 0),
                 "structure": structure, "floors": floors}
        feat = {"type": "Feature", "properties": props,
                "geometry": {"type": "Polygon", "coordinates": ring(lat, lon, SIZE, SIZE)}}
        f.write(("," if i else "") + json.dumps(feat, ensure_ascii=False) + "\n")
        c.write("K%06d,%s,%.7f,%.7f,%s,%d\n" % (i, props["address"], lat + SIZE / 2,
                                                lon + SIZE / 2, structure, floors))
    f.write("]}\n")

SURNAMES = ["山田", "鈴木", "佐藤", "田中", "高橋", "伊藤", "渡辺", "中村", "小林", "加藤",
            "吉田", "松本", "井上", "木村", "林", "坂本", "緒方", "村上", "上田", "森"]
GIVEN = ["太郎", "花子", "一郎", "次郎", "美咲", "健", "翔太", "陽子", "誠", "恵",
         "大輔", "由美", "浩", "直美", "学", "愛", "隆", "智子", "剛", "真由美"]
yes = ["", "1"]
with open(a.dir + "/applications.csv", "w") as f:
    f.write("id,applicant,address,contact,building_id,lat,lon,applied_at,consent_self,second_survey,in_shelter\n")
    chosen = rng.sample(range(n), a.applications)
    for k in range(a.applications):
        i = chosen[k]
        name = rng.choice(SURNAMES) + " " + rng.choice(GIVEN)
        if k % 50 == 49:  # the same person for the same house again
            i = chosen[k - 1]
            name = prev
        prev = name
        lat, lon = corner(i)
        r = rng.random()
        addr, bid, plat, plon = "", "", "", ""
        if r < 0.70:
            addr = written(addr_of[i], rng.randrange(3))
        elif r < 0.85:
            bid = "K%06d" % i
        elif r < 0.95:
            addr = "熊本市東区(番地不明)"
            plat, plon = "%.6f" % (lat + SIZE / 2), "%.6f" % (lon + SIZE / 2)
        else:
            addr = "熊本市東区どこか%d" % k
        day, minute = 20 + k // 6000, k % 600
        t = "2016-04-%02dT%02d:%02d+09:00" % (day, 8 + minute // 60, minute % 60)
        contact = "096-%03d-%04d" % (rng.randrange(1000), rng.randrange(10000)) if k % 2 else ""
        f.write("A%06d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n" % (
            k, name, addr, contact, bid, plat, plon, t, yes[rng.random() < 0.5],
            yes[rng.random() < 0.05], yes[rng.random() < 0.2]))

CLASSES = [("destroyed", 0.15), ("major-damage", 0.15), ("minor-damage", 0.30),
           ("no-damage", 0.35), ("un-classified", 0.05)]


def damage():
    r = rng.random()
    for name, p in CLASSES:
        if r < p:
            return name
        r -= p
    return "no-damage"


with open(a.dir + "/drone.geojson", "w") as f:
    f.write('{"type":"FeatureCollection","features":[\n')
    on = min(n, a.drone * 9 // 10)
    targets = rng.sample(range(n), on)
    for k in range(a.drone):
        if k < on:
            lat, lon = corner(targets[k])
            geom = {"type": "Polygon", "coordinates": ring(lat + SIZE * 0.1, lon + SIZE * 0.1,
                                                          SIZE * 0.8, SIZE * 0.8)}
        elif k % 2:  # in the street between houses
            lat, lon = corner(rng.randrange(n))
            geom = {"type": "Point", "coordinates": [round(lon + SIZE * 1.4, 7), round(lat, 7)]}
        else:  # outside the town
            geom = {"type": "Point", "coordinates": [round(LON0 - 0.05 - rng.random() * 0.01, 7),
                                                     round(LAT0 - rng.random() * 0.01, 7)]}
        props = {"damage": damage(), "confidence": round(0.5 + rng.random() * 0.5, 3),
                 "image": "DJI_%05d.JPG" % (k // 20)}
        feat = {"type": "Feature", "id": "F%06d" % k, "properties": props, "geometry": geom}
        f.write(("," if k else "") + json.dumps(feat, ensure_ascii=False) + "\n")
    f.write("]}\n")
