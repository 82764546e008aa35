/*
 * drone.c - damage seen from the air: the GeoJSON that damage-assessment
 * tools write (a class and a confidence per building) and xBD / xView2
 * label files (WKT polygons with a subtype), read strictly, matched to
 * the buildings they show, and stored per source so that importing the
 * same source again changes nothing.
 *
 * What the imagery means for an application is triage.c's business.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "hq.h"
#include "mem.h"

static const char *const damage_names[] = {
	[DRONE_NO_DAMAGE] = "no-damage",	[DRONE_MINOR] = "minor-damage",
	[DRONE_MAJOR] = "major-damage",		[DRONE_DESTROYED] = "destroyed",
	[DRONE_UNCLASSIFIED] = "un-classified",
};

const char *drone_damage_name(enum drone_damage d)
{
	return damage_names[d];
}

static int damage_of(const char *text, enum drone_damage *out, sl_error *err)
{
	for (size_t i = 0; i < sizeof(damage_names) / sizeof(damage_names[0]);
	     i++)
		if (strcmp(text, damage_names[i]) == 0) {
			*out = (enum drone_damage)i;
			return 0;
		}
	return sl_error_set(err, SL_EINVAL,
			    "damage class '%s' is not no-damage, "
			    "minor-damage, major-damage, destroyed or "
			    "un-classified",
			    text);
}

void drone_set_free(struct drone_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		sl_free(set->f[i].id);
		sl_free(set->f[i].image);
		geo_free(set->f[i].shape);
	}
	sl_free(set->f);
	sl_free(set);
}

static struct drone_feature *add(struct drone_set *set, size_t *cap,
				 size_t index)
{
	struct drone_feature *grown = sl_grow(set->f, cap, set->n + 1,
					      sizeof(*grown));
	if (grown == NULL)
		return NULL;
	set->f = grown;
	struct drone_feature *f = &set->f[set->n++];
	memset(f, 0, sizeof(*f));
	f->index = index;
	return f;
}

/* id (or "#index"), image: copied; NULL image stays NULL */
static int set_texts(struct drone_feature *f, const char *id, const char *image,
		     sl_error *err)
{
	char fallback[32];
	if (*id == '\0') {
		snprintf(fallback, sizeof(fallback), "#%zu", f->index);
		id = fallback;
	}
	int rc = building_check_id(id, err);
	if (rc != 0)
		return rc;
	if ((f->id = sl_strdup(id)) == NULL ||
	    (image && *image && (f->image = sl_strdup(image)) == NULL))
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	return 0;
}

static int confidence_of(const json_t *v, double def, double *out,
			 sl_error *err)
{
	if (v == NULL || json_is_null(v)) {
		if (isnan(def))
			return sl_error_set(err, SL_EINVAL,
					    "property 'confidence' is required "
					    "(or give --confidence)");
		*out = def;
		return 0;
	}
	double c = json_number_value(v);
	if (!json_is_number(v) || !(c >= 0 && c <= 1))
		return sl_error_set(err, SL_EINVAL,
				    "property 'confidence' must be a number "
				    "from 0 to 1");
	*out = c;
	return 0;
}

static int geojson_feature(struct drone_set *set, size_t *cap, size_t i,
			   const json_t *feat, double def, sl_error *err)
{
	const json_t *props = json_object_get(feat, "properties");
	char idbuf[32];
	const char *id, *damage, *image;
	int rc;
	if (!json_is_object(feat) || !json_is_object(props))
		return sl_error_set(err, SL_EINVAL,
				    "not a Feature with properties");
	const json_t *cls = json_object_get(props, "damage");
	if (cls == NULL)
		cls = json_object_get(props, "subtype");
	if (!json_is_string(cls))
		return sl_error_set(err, SL_EINVAL,
				    "property 'damage' (a class name) is "
				    "required");
	damage = json_string_value(cls);
	if (json_object_get(props, "id") == NULL && json_object_get(feat, "id"))
		rc = building_property(feat, "id", idbuf, sizeof(idbuf), &id,
				       err);
	else
		rc = building_property(props, "id", idbuf, sizeof(idbuf), &id,
				       err);
	if (rc != 0 ||
	    (rc = building_property(props, "image", NULL, 0, &image, err)) != 0)
		return rc;
	struct drone_feature *f = add(set, cap, i);
	if (f == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if ((rc = damage_of(damage, &f->damage, err)) != 0 ||
	    (rc = confidence_of(json_object_get(props, "confidence"), def,
				&f->confidence, err)) != 0 ||
	    (rc = geo_from_geojson(json_object_get(feat, "geometry"), &f->shape,
				   err)) != 0)
		return rc;
	return set_texts(f, id, image, err);
}

static int xbd_feature(struct drone_set *set, size_t *cap, size_t i,
		       const json_t *feat, const char *image, double def,
		       sl_error *err)
{
	const json_t *props = json_object_get(feat, "properties");
	const char *wkt = json_string_value(json_object_get(feat, "wkt"));
	const char *type =
		json_string_value(json_object_get(props, "feature_type"));
	const char *subtype =
		json_string_value(json_object_get(props, "subtype"));
	const char *uid = json_string_value(json_object_get(props, "uid"));
	int rc;
	if (!json_is_object(props) || wkt == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "an xBD feature needs properties and wkt");
	if (type && strcmp(type, "building") != 0)
		return sl_error_set(err, SL_EINVAL,
				    "feature_type '%s' is not building", type);
	/* xBD's pre-disaster files carry no subtype: nothing to judge by */
	if (subtype == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "no subtype (a pre-disaster label file?)");
	struct drone_feature *f = add(set, cap, i);
	if (f == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	f->confidence = isnan(def) ? 1.0 : def;
	if ((rc = damage_of(subtype, &f->damage, err)) != 0 ||
	    (rc = geo_parse_wkt(wkt, &f->shape, err)) != 0)
		return rc;
	return set_texts(f, uid ? uid : "", image, err);
}

static int parse_doc(const char *path, const json_t *doc, double def,
		     struct drone_set *set, sl_error *err)
{
	const json_t *features = json_object_get(doc, "features");
	const char *type = json_string_value(json_object_get(doc, "type"));
	const char *image = NULL;
	size_t cap = 0;
	int rc = 0;
	if (type && strcmp(type, "FeatureCollection") == 0 &&
	    json_is_array(features)) {
		set->xbd = 0;
	} else if (json_is_object(features) &&
		   json_is_array(json_object_get(features, "lng_lat"))) {
		set->xbd = 1;
		features = json_object_get(features, "lng_lat");
		image = json_string_value(json_object_get(
			json_object_get(doc, "metadata"), "img_name"));
	} else {
		return sl_error_set(err, SL_EINVAL,
				    "%s: neither a GeoJSON FeatureCollection "
				    "nor an xBD label file (features.lng_lat)",
				    path);
	}
	for (size_t i = 0; i < json_array_size(features) && rc == 0; i++) {
		const json_t *f = json_array_get(features, i);
		rc = set->xbd ? xbd_feature(set, &cap, i, f, image, def, err)
			      : geojson_feature(set, &cap, i, f, def, err);
		if (rc != 0 && rc != SL_ENOMEM)
			sl_error_prefix(err, "%s: feature %zu", path, i);
	}
	return rc;
}

static int by_feature_id(const void *x, const void *y)
{
	const struct drone_feature *const *a = x, *const *b = y;
	int c = strcmp((*a)->id, (*b)->id);
	return c ? c
		 : ((*a)->index > (*b)->index) - ((*a)->index < (*b)->index);
}

static int unique(const char *path, const struct drone_set *set, sl_error *err)
{
	const struct drone_feature **v = sl_malloc((set->n + 1) * sizeof(*v));
	int rc = 0;
	if (v == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < set->n; i++)
		v[i] = &set->f[i];
	qsort(v, set->n, sizeof(*v), by_feature_id);
	for (size_t i = 1; i < set->n && rc == 0; i++)
		if (strcmp(v[i - 1]->id, v[i]->id) == 0)
			rc = sl_error_set(err, SL_EINVAL,
					  "%s: feature %zu: id '%s' repeats "
					  "feature %zu",
					  path, v[i]->index, v[i]->id,
					  v[i - 1]->index);
	sl_free(v);
	return rc;
}

int drone_parse(const char *path, const unsigned char *data, size_t len,
		double default_confidence, struct drone_set **out,
		sl_error *err)
{
	json_t *doc;
	*out = NULL;
	if (!isnan(default_confidence) &&
	    !(default_confidence >= 0 && default_confidence <= 1))
		return sl_error_set(
			err, SL_EINVAL,
			"the default confidence must be from 0 to 1");
	int rc = geo_json_parse(path, data, len, &doc, err);
	if (rc != 0)
		return rc;
	struct drone_set *set = sl_calloc(1, sizeof(*set));
	rc = set ? parse_doc(path, doc, default_confidence, set, err)
		 : sl_error_set(err, SL_ENOMEM, "out of memory");
	json_decref(doc);
	if (rc == 0)
		rc = unique(path, set, err);
	if (rc != 0) {
		drone_set_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

int drone_import(hq_store *st, const char *source, const char *path,
		 const struct drone_set *set, double within_m, time_t now,
		 struct drone_result *res, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *del = NULL, *put = NULL;
	building_index *idx = NULL;
	int rc;
	memset(res, 0, sizeof(*res));
	if ((rc = building_index_load(st, &idx, err)) != 0)
		return rc;
	if ((rc = db_prepare(db, &del,
			     "DELETE FROM drone_features WHERE source = ?1",
			     err)) != 0 ||
	    (rc = db_prepare(
		     db, &put,
		     "INSERT INTO drone_features (source, feature_id,"
		     " building_id, damage, confidence, image, lat, lon,"
		     " geometry, source_ref, imported_at) VALUES (?1,"
		     " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		     err)) != 0 ||
	    (rc = store_begin(st, err)) != 0)
		goto out;
	sqlite3_bind_text(del, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE)
		rc = sl_error_set(err, SL_EDB, "%s", sqlite3_errmsg(db));
	res->replaced = (size_t)sqlite3_changes(db);
	for (size_t i = 0; i < set->n && rc == 0; i++) {
		const struct drone_feature *f = &set->f[i];
		const char *b = building_index_match(idx, f->shape, within_m);
		char ref[4200], *wkt = geo_wkt(f->shape);
		if (wkt == NULL) {
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
			break;
		}
		snprintf(ref, sizeof(ref), "%s#%zu", path, f->index);
		sqlite3_bind_text(put, 1, source, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 2, f->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 3, b, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 4, drone_damage_name(f->damage), -1,
				  SQLITE_STATIC);
		sqlite3_bind_double(put, 5, f->confidence);
		sqlite3_bind_text(put, 6, f->image, -1, SQLITE_STATIC);
		sqlite3_bind_double(put, 7, f->shape->centroid.lat);
		sqlite3_bind_double(put, 8, f->shape->centroid.lon);
		sqlite3_bind_text(put, 9, wkt, -1, sl_free);
		sqlite3_bind_text(put, 10, ref, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 11, (sqlite3_int64)now);
		if (sqlite3_step(put) != SQLITE_DONE)
			rc = sl_error_set(err, SL_EDB, "%s: %s", ref,
					  sqlite3_errmsg(db));
		sqlite3_reset(put);
		sqlite3_clear_bindings(put);
		res->features++;
		*(b ? &res->matched : &res->unmatched) += 1;
	}
	if (rc == 0)
		rc = store_commit(st, err);
	else
		store_rollback(st);
out:
	if (rc != 0)
		memset(res, 0, sizeof(*res));
	sqlite3_finalize(del);
	sqlite3_finalize(put);
	building_index_free(idx);
	return rc;
}
