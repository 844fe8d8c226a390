# fd_libmilter.m4 -- find libmilter
#
# FD_LIBMILTER: sets MILTER_CFLAGS and MILTER_LIBS. Debian ships milter.pc;
# elsewhere probe for libmilter/mfapi.h and -lmilter, with --with-milter=DIR
# naming a prefix. Defines HAVE_SMFI_SETSYMLIST when the library has it.
AC_DEFUN([FD_LIBMILTER], [
AC_ARG_WITH([milter],
    [AS_HELP_STRING([--with-milter=DIR], [libmilter installed under DIR])],
    [fd_milter_dir="$withval"], [fd_milter_dir=""])
AS_IF([test -z "$fd_milter_dir"],
    [PKG_CHECK_MODULES([MILTER], [milter], [fd_milter_found=yes], [fd_milter_found=no])],
    [fd_milter_found=no
     MILTER_CFLAGS="-I$fd_milter_dir/include"
     MILTER_LIBS="-L$fd_milter_dir/lib -L$fd_milter_dir/lib/libmilter"])
AS_IF([test "x$fd_milter_found" != xyes], [
    fd_save_CPPFLAGS="$CPPFLAGS"; fd_save_LIBS="$LIBS"
    CPPFLAGS="$CPPFLAGS $MILTER_CFLAGS"; LIBS="$MILTER_LIBS $LIBS"
    AC_CHECK_HEADER([libmilter/mfapi.h], [],
        [AC_MSG_ERROR([libmilter headers not found (Debian: libmilter-dev)])])
    AC_CHECK_LIB([milter], [smfi_main], [MILTER_LIBS="$MILTER_LIBS -lmilter"],
        [AC_MSG_ERROR([libmilter not found (Debian: libmilter-dev)])], [-lpthread])
    CPPFLAGS="$fd_save_CPPFLAGS"; LIBS="$fd_save_LIBS"])
fd_save_CPPFLAGS="$CPPFLAGS"; fd_save_LIBS="$LIBS"
CPPFLAGS="$CPPFLAGS $MILTER_CFLAGS"; LIBS="$MILTER_LIBS $LIBS -lpthread"
AC_CHECK_FUNCS([smfi_setsymlist])
CPPFLAGS="$fd_save_CPPFLAGS"; LIBS="$fd_save_LIBS"
AC_SUBST([MILTER_CFLAGS])
AC_SUBST([MILTER_LIBS])
])
