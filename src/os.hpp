#pragma once
// What the operating system tells hkam, in one place. Internal to hkam.

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace hkam::os {

/// The machine's physical memory in bytes (8 GB when the system does not say).
inline double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 8e9;
}

/// Throws std::runtime_error unless `path` is missing (its reader then says so) or a regular
/// file: a device or FIFO (/dev/zero, /dev/stdin) would be read forever.
inline void require_regular_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error(path + ": not a regular file");
}

}  // namespace hkam::os
