// `hkam sweep --mpi`: the runs of a sweep spread over MPI ranks (docs/scaling.md).
//
// Rank 0 validates the sweep, owns the folder and the manifest, and hands out runs one at a
// time: every other rank asks for a run, starts it as a child process (`hkam run ...` or
// `hkam resume ...`, like the local loop), reports its exit status and asks again, so long and
// short runs balance. Rank 0 also runs `-j` runs of its own between answering requests. Each run
// writes its own trace; only rank 0 writes the manifest.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "run/signals.hpp"

#ifdef HKAM_HAVE_MPI
#include <mpi.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <thread>
#endif

namespace hkam::cli {

#ifndef HKAM_HAVE_MPI

bool built_with_mpi() {
  return false;
}

int mpi_sweep(const run::SweepArgs&) {
  fmt::print(stderr,
             "hkam sweep: --mpi: this hkam was built without MPI. Install Debian's "
             "libopenmpi-dev and openmpi-bin (scripts/setup does) and rebuild: CMake finds MPI "
             "by itself (-DHKAM_MPI=ON makes it required). Without MPI, `hkam sweep -j N` runs "
             "N runs at a time on this machine.\n");
  return 2;
}

#else

namespace {

constexpr int kTagRequest = 1;  // worker -> 0: {finished run or -1, its exit code}
constexpr int kTagWork = 2;     // 0 -> worker: {run to do or -1 (stop), continue it (0/1)}

// Waits for one child, passing SIGTERM on once when this rank is signalled.
int wait_child(pid_t pid) {
  bool forwarded = false;
  for (;;) {
    int st = 0;
    const pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return run::SweepSession::exit_code_of(st);
    if (run::SignalGuard::received() && !forwarded) {
      kill(pid, SIGTERM);
      forwarded = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

bool built_with_mpi() {
  return true;
}

int mpi_sweep(const run::SweepArgs& args) {
  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  run::SweepArgs a = args;
  if (rank != 0) a.quiet = true;
  run::SweepSession session(a, rank == 0);
  int early = rank == 0 ? session.early_exit() : 0;
  MPI_Bcast(&early, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (early >= 0) {
    MPI_Finalize();
    return early;
  }
  const run::SignalGuard signals;

  int code = 0;
  if (rank != 0) {
    int msg[2] = {-1, 0};
    for (;;) {
      MPI_Send(msg, 2, MPI_INT, 0, kTagRequest, MPI_COMM_WORLD);
      int work[2] = {-1, 0};
      MPI_Recv(work, 2, MPI_INT, 0, kTagWork, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (work[0] < 0) break;
      const auto k = static_cast<std::size_t>(work[0]);
      session.set_continues(k, work[1] != 0);
      msg[0] = work[0];
      msg[1] = wait_child(session.start(k));
    }
  } else {
    if (!a.quiet)
      fmt::print("hkam sweep: {} MPI ranks, {} run(s) at a time on each\n", size,
                 std::max(a.jobs, 1));
    const auto& pending = session.pending();
    std::size_t next = 0;
    int workers = size - 1;
    bool stopping = false;
    std::map<pid_t, std::size_t> running;
    while (workers > 0 || !running.empty() || (!stopping && next < pending.size())) {
      if (run::SignalGuard::received() && !stopping) {
        stopping = true;
        for (const auto& [pid, k] : running) kill(pid, SIGTERM);
      }
      while (!stopping && running.size() < static_cast<std::size_t>(std::max(a.jobs, 1)) &&
             next < pending.size()) {
        const std::size_t k = pending[next++];
        running[session.start(k)] = k;
      }
      bool busy = false;
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &flag, &st);
      if (flag) {
        busy = true;
        int msg[2];
        MPI_Recv(msg, 2, MPI_INT, st.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (msg[0] >= 0) session.finished(static_cast<std::size_t>(msg[0]), msg[1]);
        int work[2] = {-1, 0};
        if (!stopping && next < pending.size()) {
          const std::size_t k = pending[next++];
          work[0] = static_cast<int>(k);
          work[1] = session.continues(k) ? 1 : 0;
        } else {
          --workers;
        }
        MPI_Send(work, 2, MPI_INT, st.MPI_SOURCE, kTagWork, MPI_COMM_WORLD);
      }
      if (!running.empty()) {
        int wst = 0;
        const pid_t pid = waitpid(-1, &wst, WNOHANG);
        if (pid > 0) {
          busy = true;
          if (const auto it = running.find(pid); it != running.end()) {
            const std::size_t k = it->second;
            running.erase(it);
            session.finished(k, run::SweepSession::exit_code_of(wst));
          }
        }
      }
      if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    code = session.finish(run::SignalGuard::received());
  }
  MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return code;
}

#endif

}  // namespace hkam::cli
