class OpensslAT3 < Formula
  desc "Cryptography and SSL/TLS Toolkit"
  homepage "https://openssl-library.org"
  url "https://github.com/openssl/openssl/releases/download/openssl-3.3.1/openssl-3.3.1.tar.gz"
  mirror "https://www.openssl.org/source/openssl-3.3.1.tar.gz"
  sha256 "777cd596284c883375a2a7a11bf5d2786fc5413255efab20c50d6ffe6d020b7e"
  license "Apache-2.0"

  livecheck do
    url "https://www.openssl.org/source/"
    regex(/href=.*?openssl[._-]v?(3(?:\.\d+)+)\.t/i)
  end

  depends_on "ca-certificates"

  on_linux do
    resource "Test::Harness" do
      url "https://cpan.metacpan.org/authors/id/L/LE/LEONT/Test-Harness-3.48.tar.gz"
      sha256 "e73ff89c81c1a53f6baeef6816841b89d3384403ad97422a7da9d1eeb20ec9df"
    end
  end

  def openssldir
    etc/"openssl@3"
  end

  def install
    ENV.prepend_create_path "PERL5LIB", buildpath/"lib/perl5" if OS.linux?
    args = %W[
      --prefix=#{prefix}
      --openssldir=#{openssldir}
      --libdir=lib
    ]
    system "perl", "./Configure", *args
    system "make"
    system "make", "install", "MANDIR=#{share}/man", "MANSUFFIX=ssl"
  end

  test do
    assert_match "OpenSSL 3", shell_output("#{bin}/openssl version")
  end
end
