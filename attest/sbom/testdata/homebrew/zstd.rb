class Zstd < Formula
  desc "Zstandard is a real-time compression algorithm"
  homepage "https://facebook.github.io/zstd/"
  url "https://github.com/facebook/zstd/archive/refs/tags/v1.5.6.tar.gz"
  mirror "http://fresh-center.net/linux/misc/zstd-1.5.6.tar.gz"
  sha256 "30f35f71c1203369dc979ecde0400ffea93c27391bfd2ac5a9715d2173d92ff7"
  license any_of: ["BSD-3-Clause", "GPL-2.0-only"]
  head "https://github.com/facebook/zstd.git", branch: "dev"

  depends_on "cmake" => :build
  depends_on "lz4"
  depends_on "xz"

  uses_from_macos "zlib"

  def install
    system "cmake", "-S", "build/cmake", "-B", "builddir",
                    "-DZSTD_PROGRAMS_LINK_SHARED=ON",
                    "-DZSTD_BUILD_CONTRIB=ON",
                    *std_cmake_args
    system "cmake", "--build", "builddir"
    system "cmake", "--install", "builddir"
  end

  test do
    assert_equal "hello\n",
      pipe_output("#{bin}/zstd | #{bin}/zstd -d", "hello\n", 0)
  end
end
