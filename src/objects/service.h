// Services and tasks, all three jobs: the model (service_model.h), their Docker API JSON
// (service_json.h) and their store encoding (service_codec.h). Include the one you need; this
// header is for code that uses several.
#pragma once

#include "objects/service_codec.h"
#include "objects/service_json.h"
#include "objects/service_model.h"
