<?php
// A page that says when it last changed, and no Status.
header('Content-Type: text/plain');
header('Last-Modified: Tue, 15 Nov 1994 12:45:26 GMT');
echo "unchanged since 1994\n";
