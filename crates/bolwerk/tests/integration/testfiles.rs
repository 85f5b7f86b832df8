//! Debian's clamav-testfiles: ClamAV's test program `clam.exe` inside
//! every container, encoding and packer ClamAV reads. With test-3.cvd each
//! must be detected as `Clamav.Test.File-6`, as `clamscan` detects all 44.
//! One test per file, so the test list is the table of what works; files
//! whose format is not read yet are ignored with the reason.

use crate::util::{bolwerk, test3_cvd, testfiles};

fn detects(name: &str) {
    let path = testfiles().join(name);
    let r = bolwerk(&[
        "scan",
        "--no-summary",
        "--no-builtin",
        "-d",
        test3_cvd().to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert!(
        r.stdout.contains("Clamav.Test.File-6 FOUND"),
        "{name} not detected:\n{}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(r.code, 1, "{name}");
}

macro_rules! testfile {
    ($($test:ident => $file:literal $(, ignore = $why:literal)?;)*) => {$(
        #[test]
        $(#[ignore = $why])?
        fn $test() {
            detects($file);
        }
    )*};
}

testfile! {
    plain_exe => "clam.exe";
    zip_deflate => "clam.zip";
    zip_bzip2 => "clam.bz2.zip";
    zip_deflate64 => "clam.d64.zip";
    zip_implode => "clam.impl.zip";
    gzip_tar => "clam.tar.gz";
    gzip_tar_nested_eight_deep => "clam_cache_emax.tgz";
    bzip2 => "clam.exe.bz2";
    seven_zip => "clam.7z";
    cab => "clam.cab";
    cpio_bin_le => "clam.bin-le.cpio";
    cpio_bin_be => "clam.bin-be.cpio";
    cpio_odc => "clam.odc.cpio";
    cpio_newc => "clam.newc.cpio";
    arj => "clam.arj";
    chm => "clam.chm";
    szdd => "clam.exe.szdd";
    sis => "clam.sis";
    ole2_package => "clam.ole.doc";
    powerpoint_embedded_object => "clam.ppt";
    rtf_embedded_object => "clam.exe.rtf";
    pdf => "clam.pdf";
    html_data_uri => "clam.exe.html";
    mail_base64 => "clam.mail";
    mbox_base64 => "clam.exe.mbox.base64";
    mbox_uuencode => "clam.exe.mbox.uu";
    binhex => "clam.exe.binhex";
    tnef => "clam.tnef";
    upx => "clam-upx.exe";
    aspack => "clam-aspack.exe";
    fsg => "clam-fsg.exe";
    mew => "clam-mew.exe";
    nsis => "clam-nsis.exe";
    pespin => "clam-pespin.exe", ignore = "PESpin is not unpacked yet";
    petite => "clam-petite.exe";
    upack => "clam-upack.exe";
    wwpack => "clam-wwpack.exe";
    yc => "clam-yc.exe";
    autoit_ea05 => "clam.ea05.exe";
    autoit_ea06 => "clam.ea06.exe";
    installshield_cab_external => "clam_IScab_ext.exe";
    installshield_cab_internal => "clam_IScab_int.exe";
    installshield_msi_external => "clam_ISmsi_ext.exe";
    installshield_msi_internal => "clam_ISmsi_int.exe";
}

#[test]
fn all_44_files_are_listed() {
    let n = std::fs::read_dir(testfiles()).unwrap().count();
    assert_eq!(n, 44, "the clamav-testfiles package changed");
}
