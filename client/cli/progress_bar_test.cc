#include "client/cli/progress_bar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace shardkv::cli {
namespace {

using std::chrono::milliseconds;

TEST(ProgressBarTest, RendersSlotsBytesAndTime) {
  Progress p;
  p.done = 10;
  p.total = 40;
  p.bytes = 3 * 1024 * 1024 / 2;
  p.in_flight = 3;
  std::string line = RenderProgress(p, milliseconds(4100), 8);
  EXPECT_EQ(line, "[==>     ] 10/40 slots  1.5 MiB moved  3 in flight  4.1s");
}

TEST(ProgressBarTest, FullUnknownAndNote) {
  Progress p;
  p.done = 5;
  p.total = 5;
  EXPECT_EQ(RenderProgress(p, milliseconds(0), 4).substr(0, 6), "[====]");
  p.done = 0;
  p.total = 0;
  p.note = "controller unreachable";
  std::string line = RenderProgress(p, milliseconds(0), 4);
  EXPECT_EQ(line.substr(0, 12), "[====] 0/0 s") << line;
  EXPECT_NE(line.find("(controller unreachable)"), std::string::npos);
  // More done than planned (other migrations ran too): never past full.
  p.done = 7;
  p.total = 5;
  EXPECT_NE(RenderProgress(p, milliseconds(0), 4).find("7/7"),
            std::string::npos);
}

TEST(ProgressBarTest, FormatBytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(5ull << 30), "5.0 GiB");
}

TEST(ProgressBarTest, LogModePrintsAtMostOncePerIntervalPlusTheLastLine) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  ASSERT_NE(out, nullptr);
  {
    ProgressBar bar(out, /*interactive=*/false, milliseconds(60'000));
    Progress p;
    p.total = 3;
    for (uint64_t i = 0; i < 3; ++i) {
      p.done = i;
      bar.Update(p);
    }
    p.done = 3;
    bar.Finish(p);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  EXPECT_NE(text.find("0/3 slots"), std::string::npos) << text;
  EXPECT_EQ(text.find("1/3 slots"), std::string::npos) << text;
  EXPECT_NE(text.find("3/3 slots"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(ProgressBarTest, InteractiveRedrawsInPlace) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  ASSERT_NE(out, nullptr);
  {
    ProgressBar bar(out, /*interactive=*/true, milliseconds(0));
    Progress p;
    p.total = 2;
    bar.Update(p);
    p.done = 2;
    bar.Finish(p);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

}  // namespace
}  // namespace shardkv::cli
