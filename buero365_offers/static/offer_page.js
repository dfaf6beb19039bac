/* This file is part of Büro 365 Offers.  See the README for licence terms.
 *
 * The signature step of the offer page: draw on the canvas (mouse, finger,
 * pen) with Signature Pad and put the drawing as a PNG data URL into the
 * form's "signature" field.  Everything else on the page works without
 * JavaScript. */
(function () {
    'use strict';
    var form = document.getElementById('accept-form');
    var canvas = document.getElementById('signature-canvas');
    if (!form || !canvas || typeof SignaturePad === 'undefined') {
        return;
    }
    var field = form.querySelector('input[name="signature"]');
    var clear = document.getElementById('signature-clear');
    var message = document.getElementById('signature-message');
    var pad = new SignaturePad(canvas, {
        minWidth: 0.8,
        maxWidth: 2.8,
        penColor: '#111111'
    });

    // The canvas has the pixels of its box on screen, sharp on any display.
    function resize() {
        var ratio = Math.max(window.devicePixelRatio || 1, 1);
        var strokes = pad.toData();
        canvas.width = canvas.offsetWidth * ratio;
        canvas.height = canvas.offsetHeight * ratio;
        canvas.getContext('2d').scale(ratio, ratio);
        pad.clear();
        pad.fromData(strokes);
    }
    window.addEventListener('resize', resize);
    resize();

    document.documentElement.className += ' js';
    clear.hidden = false;
    clear.addEventListener('click', function () {
        pad.clear();
        field.value = '';
    });
    pad.addEventListener('beginStroke', function () {
        message.hidden = true;
    });
    form.addEventListener('submit', function (event) {
        if (pad.isEmpty()) {
            event.preventDefault();
            message.hidden = false;
            canvas.focus();
            return;
        }
        field.value = pad.toDataURL('image/png');
    });
}());
