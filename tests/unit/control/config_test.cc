#include "control/config.h"
#include <gtest/gtest.h>
TEST(Config, Smoke) {}
