#include "operator/kube/api_server_env.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace shardkv::kube {
namespace {

std::string g_dir;
std::string g_kubeconfig;
std::string g_kubectl;

std::string Script() {
  return ApiServerEnvironment::source_dir() + "/e2e/apiserver.sh";
}

}  // namespace

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) {
    if (output != nullptr) output->append(buf, n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const std::string& ApiServerEnvironment::source_dir() {
  static const std::string dir = SHARDKV_SOURCE_DIR;
  return dir;
}

void ApiServerEnvironment::SetUp() {
  char pattern[] = "/tmp/shardkv-apiserver-XXXXXX";
  const char* made = mkdtemp(pattern);
  ASSERT_NE(made, nullptr);
  g_dir = made;
  // stderr passes through: the first run prints the build's progress.
  std::fprintf(stderr, "starting kube-apiserver fixture in %s\n",
               g_dir.c_str());
  std::string out;
  // The watchdog stops the fixture should this process crash.
  const int code =
      RunCommand("SHARDKV_FIXTURE_OWNER_PID=" + std::to_string(getpid()) + " " +
                     Script() + " up " + g_dir,
                 &out);
  ASSERT_EQ(code, 0) << "e2e/apiserver.sh up failed:\n" << out;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("KUBECONFIG=", 0) == 0) g_kubeconfig = line.substr(11);
    if (line.rfind("KUBECTL=", 0) == 0) g_kubectl = line.substr(8);
  }
  ASSERT_FALSE(g_kubeconfig.empty()) << out;
}

void ApiServerEnvironment::TearDown() {
  if (g_dir.empty()) return;
  std::string out;
  if (RunCommand(Script() + " down " + g_dir, &out) != 0) {
    std::fprintf(stderr, "apiserver.sh down: %s\n", out.c_str());
  }
  std::error_code ignored;
  std::filesystem::remove_all(g_dir, ignored);  // and what tests left there
}

const std::string& ApiServerEnvironment::kubeconfig() { return g_kubeconfig; }
const std::string& ApiServerEnvironment::kubectl() { return g_kubectl; }
const std::string& ApiServerEnvironment::dir() { return g_dir; }

}  // namespace shardkv::kube
