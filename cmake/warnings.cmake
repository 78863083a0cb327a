# Warnings are errors in project code only. System headers (DPDK, Hyperscan, ...) are
# pulled in through IMPORTED targets so their own warnings stay out of our build.
add_library(muhafiz_warnings INTERFACE)
target_compile_options(muhafiz_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wconversion -Wno-sign-conversion -Wcast-qual -Wformat=2
  -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough)
