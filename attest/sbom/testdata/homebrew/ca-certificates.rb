class CaCertificates < Formula
  desc "Mozilla CA certificate store"
  homepage "https://curl.se/docs/caextract.html"
  url "https://curl.se/ca/cacert-2024-07-02.pem"
  sha256 "1bf458412568e134a4514f5e170a328d11091e071c7110955c9884ed87972ac9"
  license "MPL-2.0"

  livecheck do
    url :homepage
    regex(/href=.*?cacert[._-](\d{4}-\d{2}-\d{2})\.pem/i)
  end

  def install
    pkgshare.install "cacert-#{version}.pem" => "cacert.pem"
  end

  test do
    assert_predicate pkgshare/"cacert.pem", :exist?
  end
end
