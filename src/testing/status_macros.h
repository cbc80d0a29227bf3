// ASSERT_OK(expr) for GoogleTest: expr is an absl::Status (or StatusOr's .status()); on
// failure the test stops and prints the expression and the status. Header-only, tests only.
#pragma once

#include <gtest/gtest.h>

#include "common/status.h"

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    const ::absl::Status assert_ok_status_ = (expr);                           \
    ASSERT_TRUE(assert_ok_status_.ok()) << #expr << ": " << assert_ok_status_; \
  } while (0)
